// Reconnects of the LiveKit dialect (SPEC §8, §10 "Reconnects") with
// @livekit/rtc-node 1.1.0: a client whose signalling is cut by a fault rule
// resumes within RESUME_WINDOW, keeping its sid and its published track, and
// the other participant never sees it leave. SimulateScenario requests from
// the SDK are honoured as livekit-server v1.13.5 does. Also: a reset of
// "stats" zeroes the counters.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AudioFrame, AudioSource, LocalAudioTrack, Room, RoomEvent, SimulateScenarioKind, TrackPublishOptions, TrackSource, dispose,
} from '@livekit/rtc-node';
import { startServer } from './lib/server.mjs';
import { skipBrowser, startBrowser } from './lib/browser.mjs';
import { firstLoudFrame, LOUD, sdkToken, toneFrames, waitEvent, within, WAIT_MS } from './lib/livekit.mjs';

let srv;
const rooms = [];
let roomSeq = 0;
const roomName = (what) => `resume-${what}-${++roomSeq}`;

async function admin(method, path, body) {
  const res = await fetch(`${srv.url}/__admin${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Connects a new rtc-node Room for test t; disconnected when t ends. */
async function connect(t, identity, name) {
  const room = new Room();
  rooms.push(room);
  t.after(() => within(room.disconnect(), 5_000, 'disconnect').catch(() => {}));
  await within(room.connect(srv.wsUrl, await sdkToken(identity, name), { autoSubscribe: true }), 20_000, 'Room.connect');
  return room;
}

/**
 * Publishes a microphone track from a and feeds it until b is subscribed to
 * it: the publisher's negotiation is then over. (A signalling cut while the
 * SDK still negotiates makes rtc-node give up on resuming: its ICE-restart
 * offer collides with the pending one.)
 */
async function publishMic(a, b) {
  const who = a.localParticipant.identity;
  const subscribed = waitEvent(b, RoomEvent.TrackSubscribed, (_t, _pub, p) => p.identity === who);
  const source = new AudioSource(48000, 1);
  const track = LocalAudioTrack.createAudioTrack('mic', source);
  const opts = new TrackPublishOptions();
  opts.source = TrackSource.SOURCE_MICROPHONE;
  const pub = await within(a.localParticipant.publishTrack(track, opts), 20_000, 'publishTrack');
  let feeding = true;
  const next = toneFrames(440);
  const feeder = (async () => {
    while (feeding) await source.captureFrame(new AudioFrame(next(), 48000, 1, 480));
  })();
  try {
    await subscribed;
  } finally {
    feeding = false;
    await feeder.catch(() => {});
  }
  return pub.sid;
}

/** Records every participant b sees leave. */
function leavesSeenBy(b) {
  const left = [];
  b.on(RoomEvent.ParticipantDisconnected, (p) => left.push(p.identity));
  return left;
}

before(async () => {
  srv = await startServer({ env: { LOG_LEVEL: 'warn' } });
});

after(async () => {
  for (const r of rooms) {
    try { await within(r.disconnect(), 5_000, 'disconnect'); } catch { /* already gone */ }
  }
  const code = await srv?.stop();
  // rtc-node keeps native handles; without this the test process never exits.
  await dispose();
  assert.equal(code, 0, `server exited with ${code}\n${srv?.stderr()}`);
});

describe('resume after a lost signalling connection', () => {
  for (const [action, extra] of [['abort', {}], ['close', { close_code: 1011 }]]) {
    test(`an ${action} fault: alice resumes with her sid and track; bob never sees her leave`, async (t) => {
      const name = roomName(action);
      const alice = await connect(t, 'alice', name);
      const bob = await connect(t, 'bob', name);
      const trackSid = await publishMic(alice, bob);
      const sid = alice.localParticipant.sid;
      const left = leavesSeenBy(bob);
      const since = (await admin('GET', '/events?limit=1')).body.lastSeq;

      const reconnecting = waitEvent(alice, RoomEvent.Reconnecting);
      const reconnected = waitEvent(alice, RoomEvent.Reconnected, () => true, 2 * WAIT_MS);
      const rule = await admin('POST', '/faults', { target: 'rtc', match: { identity: 'alice', room: name }, action, count: 1, ...extra });
      assert.equal(rule.status, 201, JSON.stringify(rule.body));
      await reconnecting;
      await reconnected;

      const resumed = await admin('POST', '/events/wait', { type: 'participant_resumed', identity: 'alice', room: name, since, timeout_ms: WAIT_MS });
      assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
      assert.equal(resumed.body.detail.participantSid, sid);
      assert.equal(alice.localParticipant.sid, sid, 'alice kept her sid');
      assert.deepEqual([...alice.localParticipant.trackPublications.keys()], [trackSid], 'alice kept her track');
      const seen = bob.remoteParticipants.get('alice');
      assert.equal(seen?.sid, sid, 'bob still sees the same alice');
      assert.deepEqual([...seen.trackPublications.keys()], [trackSid]);
      // The kept PeerConnection carries alice's data to bob.
      const got = waitEvent(bob, RoomEvent.DataReceived, (_payload, p, _kind, topic) => p?.identity === 'alice' && topic === 'after');
      await alice.localParticipant.publishData(new TextEncoder().encode('still here'), { reliable: true, topic: 'after' });
      const [payload] = await got;
      assert.equal(new TextDecoder().decode(payload), 'still here');
      assert.deepEqual(left, [], 'bob saw nobody leave');
      const leftEvents = await admin('GET', `/events?type=participant_left&room=${name}&since=${since}`);
      assert.deepEqual(leftEvents.body.events, []);
    });
  }

  test('media keeps flowing after a resume: bob hears alice\'s tone again', async (t) => {
    const name = roomName('media');
    const alice = await connect(t, 'alice', name);
    const bob = await connect(t, 'bob', name);
    const subscribed = waitEvent(bob, RoomEvent.TrackSubscribed, (_t, _pub, p) => p.identity === 'alice');
    const source = new AudioSource(48000, 1);
    const opts = new TrackPublishOptions();
    opts.source = TrackSource.SOURCE_MICROPHONE;
    await within(alice.localParticipant.publishTrack(LocalAudioTrack.createAudioTrack('mic', source), opts), 20_000, 'publishTrack');
    // The tone plays for the whole test, through the resume.
    let feeding = true;
    const next = toneFrames(440);
    const feeder = (async () => {
      while (feeding) await source.captureFrame(new AudioFrame(next(), 48000, 1, 480));
    })();
    t.after(async () => { feeding = false; await feeder.catch(() => {}); });
    const [track] = await subscribed;
    assert.ok((await firstLoudFrame(track, 'before the resume')).level > LOUD);

    const reconnected = waitEvent(alice, RoomEvent.Reconnected, () => true, 2 * WAIT_MS);
    const rule = await admin('POST', '/faults', { target: 'rtc', match: { identity: 'alice', room: name }, action: 'abort', count: 1 });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));
    await reconnected;
    // Whether bob keeps his subscription or gets the track anew, he hears it.
    const current = bob.remoteParticipants.get('alice')?.trackPublications.values().next().value?.track;
    const again = current ?? (await waitEvent(bob, RoomEvent.TrackSubscribed, (_t, _pub, p) => p.identity === 'alice'))[0];
    assert.ok((await firstLoudFrame(again, 'after the resume')).level > LOUD);
  });

  test('the SDK\'s own signal reconnect resumes too', async (t) => {
    const name = roomName('signal');
    const alice = await connect(t, 'alice', name);
    const bob = await connect(t, 'bob', name);
    const sid = alice.localParticipant.sid;
    const left = leavesSeenBy(bob);
    const reconnected = waitEvent(alice, RoomEvent.Reconnected, () => true, 2 * WAIT_MS);
    await alice.simulateScenario(SimulateScenarioKind.SIMULATE_SIGNAL_RECONNECT);
    await reconnected;
    assert.equal(alice.localParticipant.sid, sid);
    assert.deepEqual(left, []);
  });
});

const PAGE = `
  window.events = [];
  window.lkJoin = async (url, token) => {
    const room = new LivekitClient.Room();
    window.room = room;
    for (const ev of ['reconnecting', 'signalReconnecting', 'reconnected', 'disconnected']) {
      room.on(ev, () => events.push(ev));
    }
    await room.connect(url, token);
    await room.localParticipant.setMicrophoneEnabled(true);
    return room.localParticipant.sid;
  };
  window.lkState = () => ({
    sid: room.localParticipant.sid,
    tracks: [...room.localParticipant.trackPublications.keys()],
    state: room.state,
  });
`;

describe('livekit-client in Chromium', { skip: skipBrowser }, () => {
  let browser;
  before(async () => {
    browser = await startBrowser(PAGE);
  });
  after(async () => {
    await browser?.close();
  });

  test('an abort fault: the browser resumes with its sid and track; rtc-node never sees it leave', { timeout: 60_000 }, async (t) => {
    const name = roomName('browser');
    const bob = await connect(t, 'bob', name);
    const left = leavesSeenBy(bob);
    const page = await browser.newPage((e) => t.diagnostic(`page error: ${e.message}`));
    t.after(() => page.close().catch(() => {}));
    // Its microphone (a fake device) reaches bob: the publish negotiation is over.
    const subscribed = waitEvent(bob, RoomEvent.TrackSubscribed, (_t, _pub, p) => p.identity === 'alice', 2 * WAIT_MS);
    const sid = await page.evaluate(([url, tok]) => window.lkJoin(url, tok), [srv.wsUrl, await sdkToken('alice', name)]);
    await subscribed;
    const before = await page.evaluate(() => window.lkState());
    assert.equal(before.tracks.length, 1);

    const rule = await admin('POST', '/faults', { target: 'rtc', match: { identity: 'alice', room: name }, action: 'abort', count: 1 });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));
    await page.waitForFunction(() => window.events.includes('reconnected'), null, { timeout: 2 * WAIT_MS });
    const state = await page.evaluate(() => window.lkState());
    const events = await page.evaluate(() => window.events);
    // A signal-only resume: livekit-client 2.23.0 reports SignalReconnecting (a full rejoin would be Reconnecting).
    assert.deepEqual(events, ['signalReconnecting', 'reconnected']);
    assert.equal(state.sid, sid, 'alice kept her sid');
    assert.deepEqual(state.tracks, before.tracks, 'alice kept her track');
    assert.equal(bob.remoteParticipants.get('alice')?.sid, sid);
    assert.deepEqual(left, [], 'bob saw nobody leave');
  });

  for (const scenario of ['disconnect-signal-on-resume', 'disconnect-signal-on-resume-no-messages']) {
    test(`simulateScenario('${scenario}'): the browser ends up connected`, { timeout: 60_000 }, async (t) => {
      const name = roomName('browser-sim');
      const page = await browser.newPage((e) => t.diagnostic(`page error: ${e.message}`));
      t.after(() => page.close().catch(() => {}));
      const sid = await page.evaluate(([url, tok]) => window.lkJoin(url, tok), [srv.wsUrl, await sdkToken('alice', name)]);
      const since = (await admin('GET', '/events?limit=1')).body.lastSeq;
      await page.evaluate((sc) => window.room.simulateScenario(sc), scenario);
      await page.waitForFunction(() => window.events.includes('reconnected') && window.room.state === 'connected', null, { timeout: 2 * WAIT_MS });
      const events = await page.evaluate(() => window.events);
      assert.ok(!events.includes('disconnected'), events.join());
      if (scenario === 'disconnect-signal-on-resume') {
        // The first resume completed (then the server dropped the socket), the
        // next one too: the same participant throughout.
        const wait = (after) => admin('POST', '/events/wait', { type: 'participant_resumed', identity: 'alice', room: name, since: after, timeout_ms: WAIT_MS });
        const first = await wait(since);
        assert.equal(first.status, 200, JSON.stringify(first.body));
        const second = await wait(first.body.seq);
        assert.equal(second.status, 200, JSON.stringify(second.body));
        await page.waitForFunction(() => window.room.state === 'connected', null, { timeout: WAIT_MS });
        assert.equal((await page.evaluate(() => window.lkState())).sid, sid);
      }
    });
  }
});

describe('SimulateScenario', () => {
  test('node_failure: bob sees alice leave; alice comes back as a new participant', async (t) => {
    const name = roomName('node');
    const alice = await connect(t, 'alice', name);
    const bob = await connect(t, 'bob', name);
    const sid = alice.localParticipant.sid;
    const left = waitEvent(bob, RoomEvent.ParticipantDisconnected, (p) => p.identity === 'alice');
    const back = waitEvent(bob, RoomEvent.ParticipantConnected, (p) => p.identity === 'alice' && p.sid !== sid, 2 * WAIT_MS);
    await alice.simulateScenario(SimulateScenarioKind.SIMULATE_NODE_FAILURE);
    await left;
    const [again] = await back;
    assert.match(again.sid, /^PA_\w+$/);
    const rejoined = await admin('POST', '/events/wait', { type: 'participant_left', identity: 'alice', room: name, timeout_ms: WAIT_MS });
    assert.equal(rejoined.body.detail.reason, 'server_shutdown');
  });

  test('speaker_update: bob sees alice speak', async (t) => {
    const name = roomName('speaker');
    const alice = await connect(t, 'alice', name);
    const bob = await connect(t, 'bob', name);
    const speaking = waitEvent(bob, RoomEvent.ActiveSpeakersChanged, (speakers) => speakers.some((p) => p.identity === 'alice'));
    await alice.simulateScenario(SimulateScenarioKind.SIMULATE_SPEAKER);
    await speaking;
  });
});

describe('reset of stats', () => {
  test('zeroes the counters of /stats', async () => {
    const mint = await fetch(`${srv.url}/api/livekit/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ roomName: 'stats-room', participantName: 'u', participantIdentity: 'u' }),
    });
    assert.equal(mint.status, 200);
    const before = await (await fetch(`${srv.url}/stats`)).json();
    assert.ok(before.tokens.generated_total >= 1, JSON.stringify(before.tokens));
    assert.ok(before.requests.total >= 1);
    const r = await admin('POST', '/reset', { what: ['stats'] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.what, ['stats']);
    const afterReset = await (await fetch(`${srv.url}/stats`)).json();
    assert.equal(afterReset.tokens.generated_total, 0);
    assert.deepEqual(afterReset.tokens.by_source, {});
    assert.equal(afterReset.validations.total, 0);
    assert.ok(afterReset.requests.total <= 1, `requests after reset: ${afterReset.requests.total}`);
  });
});
