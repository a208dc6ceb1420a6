// Fake participants carry real media (SPEC §10): the audio track of a fake
// added through the test-control API plays an embedded 440 Hz Opus tone, and
// its video track embedded VP8 colour bars (320×240, 15 fps), which an
// @livekit/rtc-node participant receives and decodes; a track may play a
// file given by path instead.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Room, RoomEvent, TrackKind, VideoStream, dispose } from '@livekit/rtc-node';
import { startServer } from './lib/server.mjs';
import { firstLoudFrame, LOUD, sdkToken, waitEvent, within } from './lib/livekit.mjs';

let srv;
const nodeRooms = [];

async function admin(method, path, body) {
  const res = await fetch(`${srv.url}/__admin${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function nodeConnect(identity, room) {
  const r = new Room();
  nodeRooms.push(r);
  await within(r.connect(srv.wsUrl, await sdkToken(identity, room), { autoSubscribe: true }), 20_000, `${identity} connect`);
  return r;
}

before(async () => {
  srv = await startServer({ env: { LOG_LEVEL: 'warn', ADMIN_MEDIA_DIR: fileURLToPath(new URL('../internal/admin/assets', import.meta.url)) } });
});

after(async () => {
  for (const r of nodeRooms) await within(r.disconnect(), 5_000, 'disconnect').catch(() => {});
  const code = await srv?.stop();
  const err = srv?.stderr() ?? '';
  await dispose();
  assert.equal(code, 0, `server exited with ${code}\n${err.slice(-20_000)}`);
  assert.doesNotMatch(err, /panic|fatal error|DATA RACE/);
});

const bot = { identity: 'bot', name: 'Bot', tracks: [{ kind: 'audio', name: 'tone' }, { kind: 'video', name: 'cam' }] };

describe('fake participant media', () => {
  test('an rtc-node listener hears the fake\'s tone; DELETE makes it leave', async () => {
    await admin('POST', '/reset');
    const listener = await nodeConnect('listener', 'fake-tone');
    const subscribed = waitEvent(listener, RoomEvent.TrackSubscribed,
      (t, _p, who) => who.identity === 'bot' && t.kind === TrackKind.KIND_AUDIO);
    const added = await admin('POST', '/rooms/fake-tone/participants', bot);
    assert.equal(added.status, 201);

    const [track, publication] = await subscribed;
    assert.equal(track.kind, TrackKind.KIND_AUDIO);
    assert.equal(publication.name, 'tone');
    assert.equal(publication.sid, added.body.participant.tracks.find((t) => t.kind === 'audio').sid);
    const { level } = await firstLoudFrame(track, 'listener');
    assert.ok(level > LOUD);

    const left = waitEvent(listener, RoomEvent.ParticipantDisconnected, (p) => p.identity === 'bot');
    assert.equal((await admin('DELETE', '/rooms/fake-tone/participants/bot')).status, 200);
    await left;
    assert.equal([...listener.remoteParticipants.values()].some((p) => p.identity === 'bot'), false);
  });

  test('an rtc-node listener decodes the fake\'s colour bars, from the embedded clip or a file', async () => {
    await admin('POST', '/reset');
    const listener = await nodeConnect('viewer', 'fake-bars');
    for (const [identity, track] of [
      ['bars', { kind: 'video', name: 'cam' }],
      ['bars-file', { kind: 'video', name: 'cam', file: 'bars.ivf' }], // inside ADMIN_MEDIA_DIR
    ]) {
      const subscribed = waitEvent(listener, RoomEvent.TrackSubscribed,
        (t, _p, who) => who.identity === identity && t.kind === TrackKind.KIND_VIDEO);
      const added = await admin('POST', '/rooms/fake-bars/participants', { identity, tracks: [track] });
      assert.equal(added.status, 201, JSON.stringify(added.body));
      const [video, publication] = await subscribed;
      assert.equal(publication.sid, added.body.participant.tracks[0].sid);
      const reader = new VideoStream(video).getReader();
      try {
        for (let i = 0; i < 10; i++) {
          const { value, done } = await within(reader.read(), 10_000, `${identity}: video frame ${i}`);
          assert.equal(done, false);
          assert.equal(value.frame.width, 320);
          assert.equal(value.frame.height, 240);
        }
      } finally {
        await reader.cancel();
      }
    }
    const refused = await admin('POST', '/rooms/fake-bars/participants',
      { identity: 'nofile', tracks: [{ kind: 'video', file: '/nowhere/clip.ivf' }] });
    assert.equal(refused.status, 400);
    assert.match(JSON.stringify(refused.body), /tracks\[0\]\.file/);
    // Every unusable path gets the same answer: nothing is learnt of what exists.
    for (const file of ['/etc/shadow', '/tmp', '../assets/bars.ivf', fileURLToPath(new URL('../go.mod', import.meta.url))]) {
      const other = await admin('POST', '/rooms/fake-bars/participants', { identity: 'nofile', tracks: [{ kind: 'video', file }] });
      assert.equal(other.status, 400, file);
      assert.deepEqual(other.body, refused.body, file);
    }
  });

  test('someone joining after the fake hears it too; a reset ends it', async () => {
    await admin('POST', '/reset');
    assert.equal((await admin('POST', '/rooms/fake-late/participants', bot)).status, 201);
    const late = new Room();
    nodeRooms.push(late);
    const subscribed = waitEvent(late, RoomEvent.TrackSubscribed,
      (t, _p, who) => who.identity === 'bot' && t.kind === TrackKind.KIND_AUDIO);
    await within(late.connect(srv.wsUrl, await sdkToken('late', 'fake-late'), { autoSubscribe: true }), 20_000, 'late connect');
    const [track] = await subscribed;
    assert.ok((await firstLoudFrame(track, 'late listener')).level > LOUD);

    const gone = waitEvent(late, RoomEvent.Disconnected);
    assert.equal((await admin('POST', '/reset')).status, 200);
    await gone;
  });
});
