// Media forwarding (issue 9): what one participant publishes, the others
// receive, decoded. @livekit/rtc-node 1.1.0 and livekit-client 2.23.0 in
// headless Chromium, on /rtc/v1 (one PeerConnection) and, for the browser,
// on /rtc (two PeerConnections, singlePeerConnection: false).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AudioFrame, AudioSource, LocalAudioTrack, Room, RoomEvent, TrackKind, TrackPublishOptions, TrackSource,
  dispose,
} from '@livekit/rtc-node';
import { startServer } from './lib/server.mjs';
import { firstLoudFrame, LOUD, sdkToken, toneFrames, waitEvent, within, WAIT_MS } from './lib/livekit.mjs';
import { skipBrowser, startBrowser } from './lib/browser.mjs';

let srv;
const nodeRooms = [];
let seq = 0;
const roomName = (what) => `media-${what}-${++seq}`;

before(async () => {
  srv = await startServer({ env: { LOG_LEVEL: 'warn' } });
});

after(async () => {
  for (const r of nodeRooms) await within(r.disconnect(), 5_000, 'disconnect').catch(() => {});
  const code = await srv?.stop();
  // A crash of the server shows here rather than as "connection refused".
  const err = srv?.stderr() ?? '';
  if (code !== 0 || /panic|fatal error|DATA RACE/.test(err)) console.error(`livekit-mock exited ${code}:\n${err.slice(-20_000)}`);
  // rtc-node keeps native handles; without this the test process never exits.
  await dispose();
});

async function nodeConnect(identity, room) {
  const r = new Room();
  nodeRooms.push(r);
  await within(r.connect(srv.wsUrl, await sdkToken(identity, room), { autoSubscribe: true }), 20_000, `${identity} connect`);
  return r;
}

describe('rtc-node to rtc-node', () => {
  test('a 440 Hz tone published by one participant is heard by the other', async () => {
    const name = roomName('tone');
    const speaker = await nodeConnect('speaker', name);
    const listener = await nodeConnect('listener', name);
    const subscribed = waitEvent(listener, RoomEvent.TrackSubscribed, (_t, _p, who) => who.identity === 'speaker');

    const source = new AudioSource(48000, 1);
    const local = LocalAudioTrack.createAudioTrack('tone', source);
    const opts = new TrackPublishOptions();
    opts.source = TrackSource.SOURCE_MICROPHONE;
    const pub = await within(speaker.localParticipant.publishTrack(local, opts), WAIT_MS, 'publishTrack');

    // Feed the tone in real time (captureFrame waits while its queue is full).
    let feeding = true;
    const next = toneFrames(440);
    const feeder = (async () => {
      while (feeding) await source.captureFrame(new AudioFrame(next(), 48000, 1, 480));
    })();
    try {
      const [track, publication] = await subscribed;
      assert.equal(track.kind, TrackKind.KIND_AUDIO);
      assert.equal(publication.sid, pub.sid);
      assert.match(publication.sid, /^TR_\w+$/);
      const { level } = await firstLoudFrame(track, 'listener');
      assert.ok(level > LOUD);

      // Someone joining while the tone plays gets it too (the server asks
      // for a new offer before it has even answered the join's).
      const late = new Room();
      nodeRooms.push(late);
      const lateSubscribed = waitEvent(late, RoomEvent.TrackSubscribed, (_t, _p, who) => who.identity === 'speaker');
      await within(late.connect(srv.wsUrl, await sdkToken('late-listener', name), { autoSubscribe: true }), 20_000, 'late connect');
      const [lateTrack] = await lateSubscribed;
      assert.ok((await firstLoudFrame(lateTrack, 'late listener')).level > LOUD);
    } finally {
      feeding = false;
      await feeder.catch(() => {});
      await local.close();
      await source.close();
    }
  });
});

const PAGE = `
  window.events = [];
  window.lkJoin = async (url, token, options) => {
    const room = new LivekitClient.Room(options);
    window.room = room;
    room.on(LivekitClient.RoomEvent.TrackSubscribed, (track, pub, p) => {
      events.push('subscribed:' + p.identity + ':' + track.kind + ':' + pub.trackSid);
      if (track.kind !== 'video') return;
      const el = track.attach();
      el.muted = true;
      document.body.appendChild(el);
      const seen = () => events.push('frame:' + p.identity + ':' + el.videoWidth + 'x' + el.videoHeight);
      if (el.requestVideoFrameCallback) el.requestVideoFrameCallback(seen);
      el.addEventListener('resize', () => { if (el.videoWidth > 0) seen(); });
    });
    await room.connect(url, token);
    return { sid: room.localParticipant.sid };
  };
`;

describe('browser', { skip: skipBrowser }, () => {
  let browser;
  before(async () => {
    browser = await startBrowser(PAGE);
  });
  after(async () => {
    await browser?.close();
  });

  async function openPage(t, identity, room, options = {}) {
    const page = await browser.newPage((e) => t.diagnostic(`${identity} page error: ${e.message}`));
    t.after(() => page.close().catch(() => {}));
    const token = await sdkToken(identity, room, { name: identity });
    await page.evaluate(([url, tok, opts]) => window.lkJoin(url, tok, opts), [srv.wsUrl, token, options]);
    return page;
  }

  for (const [mode, options] of [['v1', {}], ['v0', { singlePeerConnection: false }]]) {
    test(`Chromium's fake microphone is heard by rtc-node (${mode})`, { timeout: 60_000 }, async (t) => {
      const name = roomName(`mic-${mode}`);
      const listener = await nodeConnect('node-ear', name);
      const subscribed = waitEvent(listener, RoomEvent.TrackSubscribed, (_t, _p, who) => who.identity === 'web-mic');
      const page = await openPage(t, 'web-mic', name, options);
      await page.evaluate(() => window.room.localParticipant.setMicrophoneEnabled(true));
      const [track] = await subscribed;
      assert.equal(track.kind, TrackKind.KIND_AUDIO);
      const { level } = await firstLoudFrame(track, 'rtc-node listening to Chromium');
      assert.ok(level > LOUD);
    });

    test(`two Chromium pages see each other's fake camera (${mode})`, { timeout: 60_000 }, async (t) => {
      const name = roomName(`cam-${mode}`);
      const a = await openPage(t, 'cam-a', name, options);
      await a.evaluate(() => window.room.localParticipant.setCameraEnabled(true));
      // b joins a room where a's camera is already on.
      const b = await openPage(t, 'cam-b', name, options);
      await b.evaluate(() => window.room.localParticipant.setCameraEnabled(true));
      const decoded = (page, from) => page.waitForFunction(
        (who) => window.events.find((e) => e.startsWith(`frame:${who}:`) && !e.endsWith(':0x0')),
        from, { timeout: WAIT_MS },
      ).then((h) => h.jsonValue());
      const [seenByA, seenByB] = await Promise.all([decoded(a, 'cam-b'), decoded(b, 'cam-a')]);
      t.diagnostic(`cam-a decoded ${seenByA}, cam-b decoded ${seenByB}`);
      assert.match(seenByA, /^frame:cam-b:[1-9]\d*x[1-9]\d*$/);
      assert.match(seenByB, /^frame:cam-a:[1-9]\d*x[1-9]\d*$/);
    });
  }
});
