// The official Node SDKs against livekit-mock: @livekit/rtc-node 1.1.0 (the
// Rust SDK) connects over /rtc/v1 with a real WebRTC PeerConnection, and
// livekit-server-sdk 2.19.2 mints its tokens. A JSON-dialect participant
// shares the rooms.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AudioSource, DisconnectReason, LocalAudioTrack, Room, RoomEvent, TrackPublishOptions, TrackSource, dispose,
} from '@livekit/rtc-node';
import { startServer } from './lib/server.mjs';
import { API_KEY, jsonParticipant, rawToken, sdkToken, waitEvent, within, WAIT_MS } from './lib/livekit.mjs';

let srv;
const rooms = [];
let roomSeq = 0;
const roomName = (what) => `lk-${what}-${++roomSeq}`;

/** A new rtc-node Room, disconnected when test t ends. */
function newRoom(t) {
  const room = new Room();
  rooms.push(room);
  t.after(() => within(room.disconnect(), 5_000, 'disconnect').catch(() => {}));
  return room;
}

/** Connects a new rtc-node Room for test t. */
async function connect(t, token, opts = {}) {
  const room = newRoom(t);
  await within(room.connect(srv.wsUrl, token, { autoSubscribe: true, ...opts }), 20_000, 'Room.connect');
  return room;
}

before(async () => {
  srv = await startServer({ env: { LOG_LEVEL: 'warn' } });
});

after(async () => {
  for (const r of rooms) {
    try { await within(r.disconnect(), 5_000, 'disconnect'); } catch { /* already gone */ }
  }
  await srv?.stop();
  // rtc-node keeps native handles; without this the test process never exits.
  await dispose();
});

describe('tokens', () => {
  test('an SDK-minted token connects with the right room, identity and sids', async (t) => {
    const name = roomName('connect');
    const room = await connect(t, await sdkToken('alice', name, { name: 'Alice', metadata: 'm0' }));
    assert.equal(room.name, name);
    assert.equal(room.isConnected, true);
    const me = room.localParticipant;
    assert.equal(me.identity, 'alice');
    assert.equal(me.name, 'Alice');
    assert.equal(me.metadata, 'm0');
    assert.match(me.sid, /^PA_\w+$/);
    assert.match(await room.getSid(), /^RM_\w+$/);
    // The SDK participant is listed by the mock's own API too.
    const res = await fetch(`${srv.url}/api/rooms/${name}`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /alice/);
  });

  test('validate answers as the upgrade would, readable cross-origin', async (t) => {
    const good = await sdkToken('v1', roomName('validate'));
    for (const path of ['/rtc/validate', '/rtc/v1/validate']) {
      const res = await fetch(`${srv.url}${path}?protocol=17`, { headers: { Authorization: `Bearer ${good}`, Origin: 'http://elsewhere.test' } });
      const body = await res.text();
      if (path === '/rtc/v1/validate') {
        // v1 needs its join_request, even to validate.
        assert.equal(res.status, 400, body);
        assert.equal(body, 'join_request is required');
      } else {
        assert.equal(res.status, 200, body);
        assert.equal(body, 'success');
      }
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
    }
  });

  const now = Math.floor(Date.now() / 1000);
  const refusals = [
    ['bad signature', () => sdkToken('mallory', 'r', { secret: 'not-the-secret' }), /^invalid authorization token: /],
    ['expired', () => rawToken({ iss: API_KEY, sub: 'late', nbf: now - 7200, exp: now - 3600, video: { roomJoin: true, room: 'r' } }), /^invalid authorization token: .*expired/],
    ['unknown key', () => sdkToken('who', 'r', { key: 'nokey' }), /^invalid API key$/],
  ];
  for (const [what, mint, body] of refusals) {
    test(`a token with ${what} is refused: 401 on validate, connect() rejects`, async (t) => {
      const token = await mint();
      for (const [path, init] of [
        [`/rtc/validate?protocol=17&access_token=${token}`, {}],
        ['/rtc/v1/validate', { headers: { Authorization: `Bearer ${token}` } }],
      ]) {
        const res = await fetch(`${srv.url}${path}`, init);
        const text = await res.text();
        assert.equal(res.status, 401, `${path}: ${text}`);
        assert.match(text, body);
        assert.ok(!text.includes(token), 'the body never echoes the token');
        assert.equal(res.headers.get('access-control-allow-origin'), '*');
      }
      const room = newRoom(t);
      await assert.rejects(within(room.connect(srv.wsUrl, token), 20_000, 'refused connect'));
      assert.equal(room.isConnected, false);
    });
  }
});

describe('participants', () => {
  test('two participants see each other join and leave', async (t) => {
    const name = roomName('pair');
    const a = await connect(t, await sdkToken('a', name));
    const joined = waitEvent(a, RoomEvent.ParticipantConnected, (p) => p.identity === 'b');
    const b = await connect(t, await sdkToken('b', name));
    const [pb] = await joined;
    assert.equal(pb.sid, b.localParticipant.sid);
    // b learnt of a from its JoinResponse.
    assert.deepEqual([...b.remoteParticipants.values()].map((p) => p.identity), ['a']);
    const left = waitEvent(a, RoomEvent.ParticipantDisconnected, (p) => p.identity === 'b');
    await b.disconnect();
    await left;
    assert.equal(a.remoteParticipants.size, 0);
  });

  test('a published audio track is announced to the other participant', async (t) => {
    const name = roomName('track');
    const a = await connect(t, await sdkToken('speaker', name));
    const b = await connect(t, await sdkToken('listener', name));
    const announced = waitEvent(b, RoomEvent.TrackPublished, (_pub, p) => p.identity === 'speaker');
    const source = new AudioSource(48000, 1);
    const track = LocalAudioTrack.createAudioTrack('mic', source);
    const opts = new TrackPublishOptions();
    opts.source = TrackSource.SOURCE_MICROPHONE;
    const pub = await within(a.localParticipant.publishTrack(track, opts), WAIT_MS, 'publishTrack');
    assert.match(pub.sid, /^TR_\w+$/);
    const [remote] = await announced;
    assert.equal(remote.sid, pub.sid);
    assert.equal(remote.name, 'mic');
    assert.equal(remote.source, TrackSource.SOURCE_MICROPHONE);
    await track.close();
  });

  test('reliable data with a topic arrives with the right bytes and sender', async (t) => {
    const name = roomName('data');
    const a = await connect(t, await sdkToken('sender', name));
    const b = await connect(t, await sdkToken('receiver', name));
    const c = await connect(t, await sdkToken('bystander', name));
    const got = waitEvent(b, RoomEvent.DataReceived, (_d, p) => p?.identity === 'sender');
    let bystanderGot = false;
    c.on(RoomEvent.DataReceived, () => { bystanderGot = true; });
    const bytes = new Uint8Array([0, 1, 2, 250, 255, 104, 105]);
    await a.localParticipant.publishData(bytes, { reliable: true, topic: 'chat', destination_identities: ['receiver'] });
    const [payload, from, , topic] = await got;
    assert.deepEqual([...payload], [...bytes]);
    assert.equal(from.identity, 'sender');
    assert.equal(topic, 'chat');
    // A broadcast afterwards reaches the bystander: it was only left out of the first.
    const broadcast = waitEvent(c, RoomEvent.DataReceived, (d) => Buffer.from(d).toString() === 'all');
    await a.localParticipant.publishData(Buffer.from('all'), { reliable: true });
    await broadcast;
    assert.equal(bystanderGot, true);
  });

  test('metadata and name updates reach the others and the sender', async (t) => {
    const name = roomName('meta');
    const a = await connect(t, await sdkToken('editor', name, { grants: { canUpdateOwnMetadata: true } }));
    const b = await connect(t, await sdkToken('watcher', name));
    const meta = waitEvent(b, RoomEvent.ParticipantMetadataChanged, (m, p) => p.identity === 'editor' && m === 'meta-1');
    // The sender gets the update too: that is how its own metadata changes.
    const own = waitEvent(a, RoomEvent.ParticipantMetadataChanged, (m, p) => p.identity === 'editor' && m === 'meta-1');
    await within(a.localParticipant.updateMetadata('meta-1'), WAIT_MS, 'updateMetadata');
    await meta;
    await own;
    assert.equal(a.localParticipant.metadata, 'meta-1');
    const renamed = waitEvent(b, RoomEvent.ParticipantNameChanged, (n, p) => p.identity === 'editor' && n === 'Editor Two');
    await within(a.localParticipant.updateName('Editor Two'), WAIT_MS, 'updateName');
    await renamed;
    assert.equal(b.remoteParticipants.get('editor').name, 'Editor Two');
  });

  test('a second connection with the same identity takes over', async (t) => {
    const name = roomName('dup');
    const observer = await connect(t, await sdkToken('observer', name));
    const first = await connect(t, await sdkToken('twin', name));
    const kicked = waitEvent(first, RoomEvent.Disconnected);
    const second = await connect(t, await sdkToken('twin', name));
    const [reason] = await kicked;
    assert.equal(reason, DisconnectReason.DUPLICATE_IDENTITY);
    // The observer ends with one twin: the new one.
    const deadline = Date.now() + WAIT_MS;
    while (observer.remoteParticipants.get('twin')?.sid !== second.localParticipant.sid) {
      assert.ok(Date.now() < deadline, 'observer never saw the new twin');
      await waitEvent(observer, RoomEvent.ParticipantConnected, () => true, WAIT_MS).catch(() => {});
    }
    assert.equal(observer.remoteParticipants.size, 1);
    assert.notEqual(first.localParticipant.sid, second.localParticipant.sid);
  });
});

describe('one registry for both dialects', () => {
  test('a JSON participant and an SDK participant see each other, their tracks and their data', async (t) => {
    const name = roomName('mixed');
    const sdk = await connect(t, await sdkToken('sdk-user', name));
    const json = await jsonParticipant(srv.wsUrl);
    const sdkSees = waitEvent(sdk, RoomEvent.ParticipantConnected, (p) => p.identity === 'json-user');
    json.send({ type: 'join_room', roomName: name, participant: { identity: 'json-user', name: 'Jason', metadata: 'from-json' } });
    const joined = await json.next('room_joined');
    assert.deepEqual(joined.others.map((o) => o.identity), ['sdk-user']);
    const [remote] = await sdkSees;
    assert.equal(remote.name, 'Jason');
    assert.equal(remote.metadata, 'from-json');
    assert.match(remote.sid, /^PA_\w+$/);

    // A JSON track is a remote track to the SDK.
    const trackSeen = waitEvent(sdk, RoomEvent.TrackPublished, (_pub, p) => p.identity === 'json-user');
    json.send({ type: 'publish_track', trackKind: 'audio', trackName: 'json-mic', source: 'microphone' });
    const published = await json.next('track_published');
    const [pub] = await trackSeen;
    assert.equal(pub.sid, published.track.sid);
    assert.equal(pub.name, 'json-mic');

    // JSON data reaches the SDK as UTF-8 bytes, with sender and topic.
    const sdkData = waitEvent(sdk, RoomEvent.DataReceived, (_d, p) => p?.identity === 'json-user');
    json.send({ type: 'send_data', payload: 'héllo sdk', topic: 'greet' });
    const [payload, from, , topic] = await sdkData;
    assert.equal(Buffer.from(payload).toString('utf8'), 'héllo sdk');
    assert.equal(from.identity, 'json-user');
    assert.equal(topic, 'greet');

    // SDK data reaches the JSON client: text as a string, other bytes base64.
    await sdk.localParticipant.publishData(Buffer.from('hi json'), { reliable: true, topic: 'reply' });
    const text = await json.next('data_received');
    assert.equal(text.from, 'sdk-user');
    assert.equal(text.payload, 'hi json');
    assert.equal(text.topic, 'reply');
    assert.equal(text.encoding, undefined);
    await sdk.localParticipant.publishData(new Uint8Array([0xff, 0x00, 0xfe]), { reliable: true });
    const bin = await json.next('data_received');
    assert.equal(bin.encoding, 'base64');
    assert.deepEqual([...Buffer.from(bin.payload, 'base64')], [0xff, 0x00, 0xfe]);

    // And the JSON client sees the SDK participant leave.
    await sdk.disconnect();
    const gone = await json.next('participant_disconnected');
    assert.equal(gone.participant.identity, 'sdk-user');
    await json.close();
  });

  test('an SDK participant joining later finds the JSON participant and its tracks', async (t) => {
    const name = roomName('mixed-late');
    const json = await jsonParticipant(srv.wsUrl);
    json.send({ type: 'join_room', roomName: name, participant: { identity: 'early-json', name: 'Early' } });
    await json.next('room_joined');
    json.send({ type: 'publish_track', trackKind: 'video', trackName: 'cam', source: 'camera' });
    await json.next('track_published');
    const sdk = await connect(t, await sdkToken('late-sdk', name));
    const remote = sdk.remoteParticipants.get('early-json');
    assert.ok(remote, 'the JSON participant is in the JoinResponse');
    assert.deepEqual([...remote.trackPublications.values()].map((p) => p.name), ['cam']);
    const seen = await json.next('participant_connected');
    assert.equal(seen.participant.identity, 'late-sdk');
    await json.close();
  });
});

describe('latency', () => {
  test('connect median over 10 connects (reported, not asserted)', async (t) => {
    const name = roomName('latency');
    const times = [];
    for (let i = 0; i < 10; i++) {
      const token = await sdkToken(`lat-${i}`, name);
      const room = new Room();
      const t0 = performance.now();
      await within(room.connect(srv.wsUrl, token), 20_000, 'connect');
      times.push(performance.now() - t0);
      await room.disconnect();
    }
    times.sort((x, y) => x - y);
    const median = (times[4] + times[5]) / 2;
    t.diagnostic(`rtc-node connect median ${median.toFixed(1)} ms (min ${times[0].toFixed(1)}, max ${times[9].toFixed(1)})`);
  });
});
