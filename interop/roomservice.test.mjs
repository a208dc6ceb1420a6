// livekit-server-sdk 2.19.2's RoomServiceClient against livekit-mock's Twirp
// RoomService (SPEC §3.1 twirp group, reference/livekit-protocol.md §5, §8a):
// every method against a room holding a JSON-dialect participant, which sees
// the effect; refusals with the real server's Twirp codes.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { RoomServiceClient, DataPacket_Kind, TrackType, ParticipantInfo_State } from 'livekit-server-sdk';
import { startServer } from './lib/server.mjs';
import { API_KEY, API_SECRET, jsonParticipant, sdkToken, waitEvent, within } from './lib/livekit.mjs';

/** Joins `room` as `identity` over the JSON dialect; returns the client and its room_joined. */
async function joinJSON(srv, room, identity) {
  const c = await jsonParticipant(srv.wsUrl);
  c.send({ type: 'join_room', roomName: room, participant: { identity, name: identity.toUpperCase() } });
  const joined = await c.next('room_joined');
  return { c, joined };
}

/** Awaits a rejected promise and returns its ServerError. */
async function serverError(p) {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail('the call succeeded');
}

describe('RoomServiceClient against a room with a JSON participant', () => {
  let srv;
  let svc;
  const clients = [];
  before(async () => {
    srv = await startServer();
    svc = new RoomServiceClient(srv.url, API_KEY, API_SECRET);
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    const code = await srv?.stop();
    assert.equal(code, 0, `server exited with ${code}\n${srv?.stderr()}`);
  });

  test('every method, with its effect on the participant', async () => {
    // createRoom: settings honoured; the participant joins that room.
    const created = await svc.createRoom({ name: 'svc', emptyTimeout: 120, departureTimeout: 7, maxParticipants: 2, metadata: 'm0' });
    assert.equal(created.name, 'svc');
    assert.match(created.sid, /^RM_/);
    assert.equal(created.emptyTimeout, 120);
    assert.equal(created.departureTimeout, 7);
    assert.equal(created.maxParticipants, 2);
    assert.equal(created.metadata, 'm0');

    const { c: alice, joined } = await joinJSON(srv, 'svc', 'alice');
    clients.push(alice);
    assert.equal(joined.room.sid, created.sid);
    assert.equal(joined.room.metadata, 'm0');
    const { c: bob } = await joinJSON(srv, 'svc', 'bob');
    clients.push(bob);
    await alice.next('participant_connected', (m) => m.participant.identity === 'bob');

    // maxParticipants 2: a third is refused.
    const carol = await jsonParticipant(srv.wsUrl);
    clients.push(carol);
    carol.send({ type: 'join_room', roomName: 'svc', participant: { identity: 'carol' } });
    assert.equal((await carol.next('error')).code, 'room_full');

    // createRoom again: the same room, settings updated, not an error.
    const again = await svc.createRoom({ name: 'svc', metadata: 'm1' });
    assert.equal(again.sid, created.sid);
    assert.equal(again.emptyTimeout, 120);
    assert.equal((await alice.next('room_updated')).room.metadata, 'm1');

    alice.send({ type: 'publish_track', trackKind: 'audio', trackName: 'mic', source: 'microphone' });
    const track = (await alice.next('track_published')).track;
    await bob.next('track_subscribed');

    const rooms = await svc.listRooms();
    assert.deepEqual(rooms.map((r) => r.name), ['svc']);
    assert.equal(rooms[0].numParticipants, 2);
    assert.equal(rooms[0].numPublishers, 1);
    assert.deepEqual(await svc.listRooms(['nope']), []);

    const parts = await svc.listParticipants('svc');
    assert.deepEqual(parts.map((p) => p.identity), ['alice', 'bob']);
    assert.equal(parts[0].state, ParticipantInfo_State.ACTIVE);
    assert.equal(parts[0].tracks[0].sid, track.sid);
    assert.equal(parts[0].tracks[0].type, TrackType.AUDIO);

    const got = await svc.getParticipant('svc', 'bob');
    assert.equal(got.identity, 'bob');
    assert.match(got.sid, /^PA_/);

    // updateParticipant: both see participant_updated.
    const updated = await svc.updateParticipant('svc', 'bob', { metadata: 'md', name: 'Bobby', attributes: { role: 'host' } });
    assert.equal(updated.name, 'Bobby');
    assert.equal(updated.attributes.role, 'host');
    for (const c of [alice, bob]) {
      const m = await c.next('participant_updated', (x) => x.participant.identity === 'bob');
      assert.equal(m.participant.metadata, 'md');
      assert.equal(m.participant.name, 'Bobby');
    }

    // mutePublishedTrack: the publisher and the others see track_muted.
    const mutedTrack = await svc.mutePublishedTrack('svc', 'alice', track.sid, true);
    assert.equal(mutedTrack.sid, track.sid);
    assert.equal(mutedTrack.muted, true);
    assert.equal((await alice.next('track_muted')).muted, true);
    assert.equal((await bob.next('track_muted')).trackId, track.sid);

    // updateSubscriptions: answered; the registry records it.
    await svc.updateSubscriptions('svc', 'bob', [track.sid], false);

    // sendData: data_received with an empty sender, only to the destination.
    await svc.sendData('svc', new TextEncoder().encode('hello'), DataPacket_Kind.RELIABLE, { topic: 'news', destinationIdentities: ['bob'] });
    const data = await bob.next('data_received');
    assert.equal(data.from, '');
    assert.equal(data.payload, 'hello');
    assert.equal(data.topic, 'news');
    await svc.sendData('svc', new TextEncoder().encode('all'), DataPacket_Kind.LOSSY, {});
    assert.equal((await alice.next('data_received')).payload, 'all');

    // updateRoomMetadata: room_updated for everyone.
    const meta = await svc.updateRoomMetadata('svc', 'm2');
    assert.equal(meta.metadata, 'm2');
    assert.equal((await bob.next('room_updated', (m) => m.room.metadata === 'm2')).room.sid, created.sid);

    // removeParticipant: bob is told `removed`, alice sees him go.
    await svc.removeParticipant('svc', 'bob');
    assert.equal((await bob.next('disconnected')).reason, 'removed');
    assert.equal((await alice.next('participant_disconnected')).reason, 'removed');

    // deleteRoom: alice is told `room_deleted`; the room is gone.
    await svc.deleteRoom('svc');
    assert.equal((await alice.next('disconnected')).reason, 'room_deleted');
    assert.deepEqual(await svc.listRooms(), []);
  });

  test('unknown room and participant', async () => {
    let err = await serverError(svc.getParticipant('nowhere', 'x'));
    assert.equal(err.status, 404);
    assert.equal(err.code, 'not_found');
    assert.equal(err.message, 'requested room does not exist');

    await svc.createRoom({ name: 'empty' });
    err = await serverError(svc.removeParticipant('empty', 'ghost'));
    assert.equal(err.status, 404);
    assert.equal(err.message, 'participant does not exist');

    err = await serverError(svc.deleteRoom('nowhere'));
    assert.equal(err.status, 404);
    assert.equal(err.code, 'not_found');

    assert.deepEqual(await svc.listParticipants('nowhere'), []);
  });

  test('a wrong secret is 401, in plain text as LiveKit answers it', async () => {
    const bad = new RoomServiceClient(srv.url, API_KEY, 'not-the-secret');
    const err = await serverError(bad.listRooms());
    assert.equal(err.status, 401);
    // LiveKit's auth middleware answers before Twirp: no Twirp code, the text as message.
    assert.equal(err.code, undefined);
    assert.match(err.message, /^invalid token, error: token signature is invalid/);
  });

  test('the ws:// URL works as the host too', async () => {
    const viaWs = new RoomServiceClient(srv.wsUrl, API_KEY, API_SECRET);
    assert.ok(Array.isArray(await viaWs.listRooms()));
  });
});

describe('RoomServiceClient against an @livekit/rtc-node participant', () => {
  let srv;
  let svc;
  let rtc;
  before(async () => {
    rtc = await import('@livekit/rtc-node');
    srv = await startServer({ env: { LOG_LEVEL: 'warn' } });
    svc = new RoomServiceClient(srv.url, API_KEY, API_SECRET);
  });
  after(async () => {
    const code = await srv?.stop();
    // rtc-node keeps native handles; without this the test process never exits.
    await rtc?.dispose();
    assert.equal(code, 0, `server exited with ${code}\n${srv?.stderr()}`);
  });

  test('updates, data, room metadata and removal reach the SDK participant', async () => {
    const { Room, RoomEvent, DisconnectReason } = rtc;
    const token = await sdkToken('sdk', 'svc-rtc');
    const room = new Room();
    try {
      await within(room.connect(srv.wsUrl, token, { autoSubscribe: true }), 20_000, 'Room.connect');
      const parts = await svc.listParticipants('svc-rtc');
      assert.deepEqual(parts.map((p) => p.identity), ['sdk']);

      const meta = waitEvent(room, RoomEvent.ParticipantMetadataChanged, (m, p) => p.identity === 'sdk' && m === 'from-server');
      await svc.updateParticipant('svc-rtc', 'sdk', { metadata: 'from-server' });
      await meta;

      const data = waitEvent(room, RoomEvent.DataReceived, (d) => Buffer.from(d).toString() === 'server says hi');
      await svc.sendData('svc-rtc', new TextEncoder().encode('server says hi'), DataPacket_Kind.RELIABLE, { topic: 't' });
      const [, from, , topic] = await data;
      assert.equal(from, undefined, 'data from the server has no sender participant');
      assert.equal(topic, 't');

      const roomMeta = waitEvent(room, RoomEvent.RoomMetadataChanged, (m) => m === 'room-meta');
      await svc.updateRoomMetadata('svc-rtc', 'room-meta');
      await roomMeta;

      const gone = waitEvent(room, RoomEvent.Disconnected);
      await svc.removeParticipant('svc-rtc', 'sdk');
      const [reason] = await gone;
      assert.equal(reason, DisconnectReason.PARTICIPANT_REMOVED);
    } finally {
      await within(room.disconnect(), 5_000, 'disconnect').catch(() => {});
    }
  });
});
