// Agent dispatch benchmark (BENCHMARKS.md, "LiveKit Agents"). Not a test:
// it prints figures.
//
//   node bench/agents.mjs [ROUNDS=5]
//   (from interop/, after make build and make interop-deps; LIVEKIT_MOCK_BIN picks another binary)
//
// Starts a fresh server and two official workers (interop/agents/worker.mjs,
// one unnamed, one named), waits until both registered, then each round:
//  1. a human (@livekit/rtc-node) connects to a new room; timed from the start
//     of Room.connect() to the unnamed agent's ParticipantConnected (kind AGENT)
//     and to its first text stream (the hello);
//  2. createDispatch of the named agent into that room; timed from the call to
//     the named agent's ParticipantConnected.
// Rounds are 3 s apart. The journal's timestamps split each join into the
// server's part and the worker's.
// The real livekit-server 1.13.5 took 3.2-3.9 s for human connect → agent
// joined on the same kind of machine (reference figures), so the ratio
// printed is against 3.2 s (the most favourable to the real server).
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Room, RoomEvent, dispose } from '@livekit/rtc-node';
import { AgentDispatchClient } from 'livekit-server-sdk';
import { startServer } from '../lib/server.mjs';
import { API_KEY, API_SECRET, sdkToken } from '../lib/livekit.mjs';

const ROUNDS = Number(process.argv[2] ?? 5);
const REAL_JOIN_MS = 3200;
const GAP_MS = 3000;
const NAMED = 'bench-named';
const workerScript = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'agents', 'worker.mjs');

const srv = await startServer({ env: { LOG_LEVEL: 'warn' } });
const workers = ['', NAMED].map((name) => spawn(process.execPath, [workerScript, 'dev', '--log-level', 'warn'], {
  cwd: dirname(workerScript), detached: true, stdio: 'ignore',
  env: { ...process.env, LIVEKIT_URL: srv.wsUrl, LIVEKIT_API_KEY: API_KEY, LIVEKIT_API_SECRET: API_SECRET, AGENT_NAME: name },
}));
const admin = (path, body) => fetch(`${srv.url}/__admin${path}`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
}).then((r) => r.json());
const a = await admin('/events/wait', { type: 'agent_worker_registered', timeout_ms: 60_000 });
await admin('/events/wait', { type: 'agent_worker_registered', since: a.seq, timeout_ms: 60_000 });
// Let each worker's prewarmed job process come up, as a deployed worker's has.
await new Promise((r) => setTimeout(r, 5000));

const dispatch = new AgentDispatchClient(srv.url, API_KEY, API_SECRET);
const median = (xs) => { const s = [...xs].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const joined = [];
const hello = [];
const dispatched = [];
for (let i = 0; i < ROUNDS; i++) {
  // Rooms a few seconds apart, as in use: each worker starts a fresh idle
  // job process after taking a job, and that start is the worker's cost.
  if (i > 0) await new Promise((r) => setTimeout(r, GAP_MS));
  const name = `bench-${i}`;
  const room = new Room();
  const t0 = performance.now();
  const agentIn = new Promise((ok) => room.on(RoomEvent.ParticipantConnected, (p) => {
    if (p.kind === 4 && p.attributes['lk.agent.name'] === '') ok(performance.now() - t0);
  }));
  const helloIn = new Promise((ok) => room.registerTextStreamHandler('lk.chat', () => ok(performance.now() - t0)));
  await room.connect(srv.wsUrl, await sdkToken(`human-${i}`, name), { autoSubscribe: false });
  joined.push(await agentIn);
  hello.push(await helloIn);
  const t1 = performance.now();
  const namedIn = new Promise((ok) => room.on(RoomEvent.ParticipantConnected, (p) => {
    if (p.attributes['lk.agent.name'] === NAMED) ok(performance.now() - t1);
  }));
  await dispatch.createDispatch(name, NAMED);
  dispatched.push(await namedIn);
  await room.disconnect();
  // Where the time went, from the journal: the server's part is room start →
  // offer and the worker's answer → assignment; the rest is the worker's.
  const ev = (await (await fetch(`${srv.url}/__admin/events?room=${name}`)).json()).events;
  const at = (type, pred = () => true) => Date.parse(ev.find((e) => e.type === type && pred(e))?.time);
  const started = at('room_started');
  const offered = at('agent_job_offered', (e) => e.detail.agentName === '');
  const assigned = at('agent_job_assigned', (e) => e.detail.agentName === '');
  const agentJoined = at('participant_joined', (e) => e.identity.startsWith('agent-'));
  console.log(`round ${i + 1}: agent joined ${joined.at(-1).toFixed(0)} ms, hello ${hello.at(-1).toFixed(0)} ms, createDispatch → named agent ${dispatched.at(-1).toFixed(0)} ms` +
    ` | server: room start → offer ${offered - started} ms; worker: offer → answer (assignment) ${assigned - offered} ms, assignment → agent joins ${agentJoined - assigned} ms`);
}
const j = median(joined);
console.log(`median human connect → agent joined ${j.toFixed(0)} ms (ratio to the real server's ${REAL_JOIN_MS} ms: ${(j / REAL_JOIN_MS).toFixed(2)})`);
console.log(`median human connect → first agent message ${median(hello).toFixed(0)} ms (ratio ${(median(hello) / REAL_JOIN_MS).toFixed(2)})`);
console.log(`median createDispatch → agent joined ${median(dispatched).toFixed(0)} ms (real server, prewarmed: 2.9 s)`);
for (const w of workers) { try { process.kill(-w.pid, 'SIGKILL'); } catch { /* gone */ } }
await srv.stop();
await dispose();
