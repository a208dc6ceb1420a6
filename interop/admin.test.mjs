// Test control (SPEC §10) from a Node test suite, as docs/test-control.md
// shows it: reset between tests, wait for a join instead of sleeping, and a
// fake participant that a JSON client (over `ws`) and an @livekit/rtc-node
// client both see, with its track and its data.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Room, RoomEvent, dispose } from '@livekit/rtc-node';
import { startServer, runCli } from './lib/server.mjs';
import { jsonParticipant, sdkToken, waitEvent, within, WAIT_MS } from './lib/livekit.mjs';

let srv;

async function admin(method, path, body) {
  const res = await fetch(`${srv.url}/__admin${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const mint = (room, identity) => fetch(`${srv.url}/api/livekit/token`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ roomName: room, participantName: identity, participantIdentity: identity }),
});

before(async () => {
  srv = await startServer({ env: { LOG_LEVEL: 'warn', RATE_LIMIT_MAX: '2' } });
});

after(async () => {
  const code = await srv?.stop();
  await dispose();
  assert.equal(code, 0, `server exited with ${code}\n${srv?.stderr()}`);
});

describe('reset', () => {
  test('frees a rate-limited IP, empties rooms and the journal; seq goes on', async () => {
    for (let i = 0; i < 2; i++) assert.equal((await mint('r', 'u')).status, 200);
    assert.equal((await mint('r', 'u')).status, 429);
    const client = await jsonParticipant(srv.wsUrl);
    client.send({ type: 'join_room', roomName: 'reset-room', participant: { identity: 'alice' } });
    await client.next('room_joined');

    const r = await admin('POST', '/reset');
    assert.equal(r.status, 200);
    const bye = await client.next('disconnected');
    assert.equal(bye.reason, 'room_deleted');

    assert.equal((await mint('r', 'u')).status, 200, 'the IP is free again');
    const rooms = await (await fetch(`${srv.url}/api/rooms`)).json();
    assert.deepEqual(rooms.rooms, []);
    const ev = await admin('GET', '/events?type=reset');
    assert.equal(ev.body.events.length, 1);
    assert.equal(ev.body.events[0].seq, r.body.seq);
    assert.ok(r.body.seq > 1, 'seq is not restarted by a reset');
  });
});

describe('wait instead of sleeping', () => {
  test('wait returns the join of a JSON client, or 408 on time', async () => {
    await admin('POST', '/reset');
    const waiting = admin('POST', '/events/wait', { type: 'participant_joined', room: 'w', identity: 'alice', timeout_ms: WAIT_MS });
    const client = await jsonParticipant(srv.wsUrl);
    client.send({ type: 'join_room', roomName: 'w', participant: { identity: 'alice' } });
    const got = await waiting;
    assert.equal(got.status, 200);
    assert.equal(got.body.type, 'participant_joined');
    assert.equal(got.body.identity, 'alice');
    assert.equal(got.body.detail.dialect, 'json');

    const none = await admin('POST', '/events/wait', { type: 'participant_left', identity: 'nobody', timeout_ms: 50 });
    assert.equal(none.status, 408);
    assert.equal(none.body.code, 'timeout');
    await client.close();
  });
});

describe('fake participants', () => {
  const fake = {
    identity: 'bot', name: 'Bot', metadata: 'fake', attributes: { role: 'agent' },
    tracks: [{ kind: 'audio', name: 'voice' }, { kind: 'video', name: 'cam' }],
    data: { every_ms: 50, payload: 'tick', topic: 'clock' },
  };

  test('a JSON client sees it join, its tracks and its data; removal says removed', async () => {
    await admin('POST', '/reset');
    const client = await jsonParticipant(srv.wsUrl);
    client.send({ type: 'join_room', roomName: 'fake-json', participant: { identity: 'alice' } });
    await client.next('room_joined');
    const added = await admin('POST', '/rooms/fake-json/participants', fake);
    assert.equal(added.status, 201);
    assert.match(added.body.participant.sid, /^PA_/);

    const joined = await client.next('participant_connected');
    assert.equal(joined.participant.identity, 'bot');
    assert.equal(joined.participant.dialect, 'fake');
    const audio = await client.next('track_subscribed', (m) => m.track.kind === 'audio');
    assert.equal(audio.track.source, 'microphone');
    await client.next('track_subscribed', (m) => m.track.kind === 'video');
    const data = await client.next('data_received');
    assert.deepEqual([data.from, data.payload, data.topic], ['bot', 'tick', 'clock']);

    assert.equal((await admin('DELETE', '/rooms/fake-json/participants/bot')).status, 200);
    const left = await client.next('participant_disconnected');
    assert.equal(left.reason, 'removed');
    await client.close();
  });

  test('an @livekit/rtc-node client sees it join, its tracks and its data', async (t) => {
    await admin('POST', '/reset');
    const room = new Room();
    t.after(() => within(room.disconnect(), 5_000, 'disconnect').catch(() => {}));
    await within(room.connect(srv.wsUrl, await sdkToken('alice', 'fake-sdk'), { autoSubscribe: false }), 20_000, 'Room.connect');

    const joined = waitEvent(room, RoomEvent.ParticipantConnected, (p) => p.identity === 'bot');
    const published = waitEvent(room, RoomEvent.TrackPublished, (pub, p) => p.identity === 'bot' && pub.name === 'cam');
    const data = waitEvent(room, RoomEvent.DataReceived, (_payload, p) => p?.identity === 'bot');
    assert.equal((await admin('POST', '/rooms/fake-sdk/participants', fake)).status, 201);

    const [p] = await joined;
    assert.equal(p.name, 'Bot');
    assert.equal(p.metadata, 'fake');
    await published;
    const [payload, , , topic] = await data;
    assert.equal(Buffer.from(payload).toString('utf8'), 'tick');
    assert.equal(topic, 'clock');
  });
});

describe('CLI', () => {
  test('livekit-mock admin events prints the journal', async () => {
    await admin('POST', '/reset');
    const out = await runCli(['admin', 'events', '--type', 'reset'], { env: { LIVEKIT_MOCK_URL: srv.url } });
    assert.equal(out.code, 0, out.stderr);
    assert.equal(JSON.parse(out.stdout.trim()).type, 'reset');
  });
});
