// Several instances (SPEC §12) with @livekit/rtc-node: a real redis-server on
// a loopback port and two livekit-mock processes sharing it. alice connects to
// instance A, which becomes the room's home; bob connects through instance B,
// which relays his signalling to A, while his media goes straight to A. They
// see each other and exchange data. Skipped when /usr/bin/redis-server is
// missing (.ci/run installs it).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { Room, RoomEvent, dispose } from '@livekit/rtc-node';
import { freeTcpPort, startServer } from './lib/server.mjs';
import { sdkToken, waitEvent, within, WAIT_MS } from './lib/livekit.mjs';

const REDIS = '/usr/bin/redis-server';
const skip = existsSync(REDIS) ? false : `${REDIS} is missing (apt-get install -y redis-server)`;

let redis;
let a;
let b;
const rooms = [];

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
async function listening(port, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise((done) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => { s.end(); done(true); });
      s.on('error', () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  if (skip) return;
  const port = await freeTcpPort();
  redis = spawn(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await listening(port);
  const env = (id) => ({ REDIS_URL: `redis://127.0.0.1:${port}/0`, INSTANCE_ID: id, LOG_LEVEL: 'warn' });
  a = await startServer({ env: env('inst-a') });
  b = await startServer({ env: env('inst-b') });
});

after(async () => {
  for (const r of rooms) await within(r.disconnect(), 5_000, 'disconnect').catch(() => {});
  const codes = [await b?.stop(), await a?.stop()];
  redis?.kill('SIGTERM');
  await dispose();
  if (!skip) assert.deepEqual(codes, [0, 0], `${a?.stderr()}\n${b?.stderr()}`);
});

async function connect(url, identity, room) {
  const r = new Room();
  rooms.push(r);
  await within(r.connect(url, await sdkToken(identity, room), { autoSubscribe: true }), 20_000, `${identity} connect`);
  return r;
}

describe('two instances sharing Redis', { skip }, () => {
  test('an rtc-node participant connecting through B to a room homed on A sees the others and exchanges data', async () => {
    const name = 'cluster-room';
    const alice = await connect(a.wsUrl, 'alice', name);
    // The room is homed on A once A's heartbeat has claimed it.
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const r = await fetch(`${b.url}/api/rooms/${name}`);
      if (r.status === 200 && (await r.json()).instance === 'inst-a') break;
      if (Date.now() > deadline) throw new Error('B never saw the room homed on A');
      await new Promise((ok) => setTimeout(ok, 100));
    }
    const aliceSeesBob = waitEvent(alice, RoomEvent.ParticipantConnected, (p) => p.identity === 'bob');
    const bob = await connect(b.wsUrl, 'bob', name);
    await aliceSeesBob;
    assert.ok(bob.remoteParticipants.has('alice'), 'bob sees alice');
    assert.equal(bob.name, name);
    // One room, on one instance: A lists both participants.
    const room = await (await fetch(`${a.url}/api/rooms/${name}`)).json();
    assert.deepEqual([...room.participants].sort(), ['alice', 'bob']);

    const got = waitEvent(alice, RoomEvent.DataReceived, (_p, from, _k, topic) => from?.identity === 'bob' && topic === 'relay');
    await bob.localParticipant.publishData(new TextEncoder().encode('through B'), { reliable: true, topic: 'relay' });
    const [payload] = await got;
    assert.equal(new TextDecoder().decode(payload), 'through B');
    const back = waitEvent(bob, RoomEvent.DataReceived, (_p, from, _k, topic) => from?.identity === 'alice' && topic === 'relay');
    await alice.localParticipant.publishData(new TextEncoder().encode('from A'), { reliable: true, topic: 'relay' });
    assert.equal(new TextDecoder().decode((await back)[0]), 'from A');
  });
});
