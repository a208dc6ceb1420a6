// livekit-mock's webhooks (WEBHOOK_URLS, WEBHOOK_API_KEY) checked by
// livekit-server-sdk 2.19.2's WebhookReceiver, for a scripted session:
// every webhook verifies, and they arrive in the order things happened.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { RoomServiceClient, WebhookReceiver } from 'livekit-server-sdk';
import { startServer } from './lib/server.mjs';
import { API_KEY, API_SECRET, WAIT_MS, jsonParticipant } from './lib/livekit.mjs';

const HOOK_KEY = 'hookkey';
const HOOK_SECRET = 'a-webhook-secret-that-is-long-enough';

/** A webhook receiver on 127.0.0.1: keeps every request; `wait(n)` resolves once n arrived. */
async function startReceiver() {
  const hits = [];
  const waiters = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      hits.push({ headers: req.headers, body });
      res.writeHead(200).end();
      for (const w of [...waiters]) w();
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${server.address().port}/livekit/webhook`,
    hits,
    wait(n, ms = WAIT_MS) {
      return new Promise((ok, fail) => {
        const check = () => {
          if (hits.length < n) return;
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(check), 1);
          ok(hits.slice(0, n));
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(check), 1);
          fail(new Error(`timed out after ${ms} ms: ${hits.length} of ${n} webhooks arrived`));
        }, ms);
        waiters.push(check);
        check();
      });
    },
    close: () => new Promise((ok) => { server.closeAllConnections(); server.close(ok); }),
  };
}

describe('webhooks for a scripted session', () => {
  let srv;
  let rcv;
  before(async () => {
    rcv = await startReceiver();
    srv = await startServer({
      env: { WEBHOOK_URLS: rcv.url, LIVEKIT_KEYS: `${HOOK_KEY}: ${HOOK_SECRET}`, WEBHOOK_API_KEY: HOOK_KEY },
    });
  });
  after(async () => {
    const code = await srv?.stop();
    await rcv?.close();
    assert.equal(code, 0, `server exited with ${code}\n${srv?.stderr()}`);
  });

  test('WebhookReceiver accepts every webhook, in order', async () => {
    const svc = new RoomServiceClient(srv.url, API_KEY, API_SECRET);
    await svc.createRoom({ name: 'hooks', metadata: 'meta' });

    const alice = await jsonParticipant(srv.wsUrl);
    alice.send({ type: 'join_room', roomName: 'hooks', participant: { identity: 'alice' } });
    await alice.next('room_joined');
    alice.send({ type: 'publish_track', trackKind: 'video', trackName: 'cam', source: 'camera' });
    const track = (await alice.next('track_published')).track;
    alice.send({ type: 'unpublish_track', trackId: track.sid });
    await alice.next('track_unpublished');

    const bob = await jsonParticipant(srv.wsUrl);
    bob.send({ type: 'join_room', roomName: 'hooks', participant: { identity: 'bob' } });
    await bob.next('room_joined');
    bob.send({ type: 'leave_room' });
    await bob.next('room_left');
    await svc.deleteRoom('hooks');
    await alice.next('disconnected');
    await Promise.all([alice.close(), bob.close()]);

    const want = [
      'room_started', 'participant_joined:alice', 'track_published:alice', 'track_unpublished:alice',
      'participant_joined:bob', 'participant_left:bob', 'participant_left:alice', 'room_finished',
    ];
    const hits = await rcv.wait(want.length);
    const receiver = new WebhookReceiver(HOOK_KEY, HOOK_SECRET);
    const got = [];
    const ids = new Set();
    for (const { headers, body } of hits) {
      assert.equal(headers['content-type'], 'application/webhook+json');
      assert.equal(headers['user-agent'], 'LiveKit');
      assert.doesNotMatch(headers.authorization, /^Bearer /);
      const ev = await receiver.receive(body, headers.authorization);
      got.push(ev.participant ? `${ev.event}:${ev.participant.identity}` : ev.event);
      assert.match(ev.id, /^EV_/);
      assert.ok(!ids.has(ev.id), `id ${ev.id} repeated`);
      ids.add(ev.id);
      assert.ok(ev.createdAt > 0n);
      assert.equal(ev.room?.name, 'hooks');
      if (ev.event === 'room_started') assert.equal(ev.room.metadata, 'meta');
      if (ev.event.startsWith('track_')) assert.equal(ev.track?.sid, track.sid);
    }
    assert.deepEqual(got, want);

    // Signed with WEBHOOK_API_KEY's secret, not the main key's.
    await assert.rejects(new WebhookReceiver(API_KEY, API_SECRET).receive(hits[0].body, hits[0].headers.authorization));
    // A tampered body fails the sha256 check.
    await assert.rejects(receiver.receive(hits[0].body.replace('hooks', 'hookz'), hits[0].headers.authorization));
  });
});
