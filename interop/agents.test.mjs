// LiveKit Agents against livekit-mock: the official Node worker
// (@livekit/agents 1.9.0, installed in interop/agents/) registers on /agent,
// is dispatched automatically, by name, by a token's roomConfig and by
// CreateRoom{agents}, joins as kind AGENT, says hello and answers RPC.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Room, RoomEvent, dispose } from '@livekit/rtc-node';
import {
  AccessToken, AgentDispatchClient, RoomAgentDispatch, RoomConfiguration, RoomServiceClient,
} from 'livekit-server-sdk';
import WebSocket from 'ws';
import { startServer } from './lib/server.mjs';
import { API_KEY, API_SECRET, sdkToken, within } from './lib/livekit.mjs';

const workerScript = resolve(dirname(fileURLToPath(import.meta.url)), 'agents', 'worker.mjs');
const NAMED = 'interop-named';
// Worker start-up and job process start are slow on a loaded machine.
const AGENT_MS = 60_000;
const PARTICIPANT_AGENT = 4; // ParticipantKind.AGENT

let srv;
let rooms;
let dispatch;
const workers = {};

async function admin(method, path, body) {
  const res = await fetch(`${srv.url}/__admin${path}`, {
    method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json() };
}

/** Waits for a journal entry (matching or already there) through the wait API. */
async function journalWait(filter, ms = AGENT_MS) {
  const got = await admin('POST', '/events/wait', { ...filter, timeout_ms: ms });
  assert.equal(got.status, 200, `journal: no ${filter.type} for ${JSON.stringify(filter)}`);
  return got.body;
}

async function journal(type, room) {
  const q = new URLSearchParams({ type, ...(room ? { room } : {}) });
  return (await admin('GET', `/events?${q}`)).body.events;
}

function startWorker(name) {
  const proc = spawn(process.execPath, [workerScript, 'dev', '--log-level', 'warn'], {
    cwd: dirname(workerScript),
    detached: true, // its own process group: the job processes end with it
    env: {
      ...process.env, LIVEKIT_URL: srv.wsUrl, LIVEKIT_API_KEY: API_KEY, LIVEKIT_API_SECRET: API_SECRET,
      AGENT_NAME: name,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (c) => { out = (out + c).slice(-32 * 1024); };
  proc.stdout.setEncoding('utf8').on('data', keep);
  proc.stderr.setEncoding('utf8').on('data', keep);
  const exited = new Promise((ok) => proc.once('exit', ok));
  let done = false;
  exited.then(() => { done = true; });
  // The worker's own shutdown waits for its job processes; a test has no
  // use for that, so the whole group is killed.
  const stop = async () => {
    if (!done) {
      try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    await exited;
  };
  return { proc, output: () => out, stop };
}

/** A human in room: collects hellos by sender identity (they may come before the join event). */
async function human(roomName, { token, identity } = {}) {
  const room = new Room();
  const hellos = new Map();
  const waiters = [];
  const check = () => { for (const w of [...waiters]) w(); };
  room.registerTextStreamHandler('lk.chat', async (reader, info) => {
    hellos.set(info.identity, await reader.readAll());
    check();
  });
  room.on(RoomEvent.ParticipantConnected, check);
  room.on(RoomEvent.ParticipantDisconnected, check);
  const jwt = token ?? await sdkToken(identity ?? `human-${roomName}`, roomName);
  await room.connect(srv.wsUrl, jwt, { autoSubscribe: false });
  const until = (what, cond, ms = AGENT_MS) => within(new Promise((ok) => {
    const w = () => { const v = cond(); if (v) { waiters.splice(waiters.indexOf(w), 1); ok(v); } };
    waiters.push(w);
    w();
  }), ms, what);
  const agent = (name) => [...room.remoteParticipants.values()].find((p) => p.kind === PARTICIPANT_AGENT && p.attributes['lk.agent.name'] === name);
  return {
    room,
    /** Resolves with the agent called name once it joined and said hello. */
    agentWithHello: (name) => until(`agent "${name}" and its hello`, () => {
      const p = agent(name);
      return p && hellos.has(p.identity) ? { participant: p, hello: hellos.get(p.identity) } : null;
    }),
    agentGone: (identity) => until(`${identity} to leave`, () => !room.remoteParticipants.has(identity)),
    agents: () => [...room.remoteParticipants.values()].filter((p) => p.kind === PARTICIPANT_AGENT),
    close: () => room.disconnect(),
  };
}

before(async () => {
  srv = await startServer({ env: { LOG_LEVEL: 'warn' } });
  rooms = new RoomServiceClient(srv.url, API_KEY, API_SECRET);
  dispatch = new AgentDispatchClient(srv.url, API_KEY, API_SECRET);
});

after(async () => {
  await Promise.all(Object.values(workers).map((w) => w.stop()));
  assert.equal(await srv?.stop(), 0);
  await dispose();
});

describe('LiveKit Agents worker', () => {
  test('/agent without a token, or with a token lacking the agent grant, is 401', async () => {
    for (const headers of [{}, { authorization: `Bearer ${await sdkToken('x', 'r')}` }]) {
      const err = await new Promise((ok) => {
        const ws = new WebSocket(`${srv.wsUrl}/agent`, { headers });
        ws.once('unexpected-response', (_, res) => ok(res.statusCode));
        ws.once('open', () => { ws.close(); ok('open'); });
        ws.once('error', () => {});
      });
      assert.equal(err, 401);
    }
  });

  test('a room created before any worker gets no agent, and the journal says why', async () => {
    await rooms.createRoom({ name: 'early' });
    const failed = await journalWait({ type: 'agent_job_failed', room: 'early' }, 5_000);
    assert.equal(failed.detail.reason, 'no worker');
  });

  test('workers register; the wait API tells when', async () => {
    const first = await admin('GET', '/events?type=agent_worker_registered');
    const since = first.body.events.at(-1)?.seq ?? 0;
    workers.unnamed = startWorker('');
    workers.named = startWorker(NAMED);
    const a = await journalWait({ type: 'agent_worker_registered', since });
    await journalWait({ type: 'agent_worker_registered', since: a.seq });
    const regs = (await journal('agent_worker_registered')).map((e) => e.detail.agentName).sort();
    assert.deepEqual(regs, ['', NAMED]);
  });

  test('automatic dispatch: the agent joins as AGENT, says hello, answers ping', async () => {
    const h = await human('auto');
    const { participant, hello } = await h.agentWithHello('');
    assert.equal(hello, `hello from ${participant.identity}`);
    assert.match(participant.identity, /^agent-AJ_/);
    assert.equal(participant.attributes['lk.agent_name'], '');
    const pong = await h.room.localParticipant.performRpc({ destinationIdentity: participant.identity, method: 'ping', payload: '' });
    assert.equal(pong, 'pong');
    const list = await dispatch.listDispatch('auto');
    assert.equal(list.length, 1);
    assert.equal(list[0].agentName, '');
    assert.match(list[0].id, /^AD_/);
    assert.equal(h.agents().length, 1, 'the named worker does not take automatic jobs');
    await h.close();
  });

  test('the early room never got an agent', async () => {
    assert.deepEqual(await journal('agent_job_offered', 'early'), []);
    const ps = await rooms.listParticipants('early');
    assert.equal(ps.length, 0);
    await rooms.deleteRoom('early');
  });

  test('named dispatch on a room: createDispatch, listDispatch, getDispatch, deleteDispatch (the agent leaves)', async () => {
    const h = await human('auto', { identity: 'human-named' });
    const d = await dispatch.createDispatch('auto', NAMED, { metadata: '{"job":"interview"}' });
    assert.match(d.id, /^AD_/);
    assert.equal(d.agentName, NAMED);
    assert.equal(d.metadata, '{"job":"interview"}');
    const { participant } = await h.agentWithHello(NAMED);
    assert.equal(participant.attributes['lk.agent_name'], NAMED);
    const list = await dispatch.listDispatch('auto');
    assert.deepEqual(list.map((x) => x.agentName).sort(), ['', NAMED]);
    const got = await dispatch.getDispatch(d.id, 'auto');
    assert.equal(got.id, d.id);
    assert.equal(got.state.jobs.length, 1);
    assert.equal(got.state.jobs[0].state.participantIdentity, participant.identity);

    await dispatch.deleteDispatch(d.id, 'auto');
    const ended = await journalWait({ type: 'agent_job_ended', room: 'auto', identity: participant.identity });
    assert.equal(ended.detail.reason, 'dispatch_deleted');
    await h.agentGone(participant.identity);
    assert.deepEqual((await dispatch.listDispatch('auto')).map((x) => x.agentName), ['']);
    await assert.rejects(dispatch.deleteDispatch(d.id, 'auto'), /dispatch ID not found/);
    await h.close();
  });

  test("a token's roomConfig.agents dispatches exactly those agents", async () => {
    const at = new AccessToken(API_KEY, API_SECRET, { identity: 'human-rc', ttl: '10m' });
    at.addGrant({ roomJoin: true, room: 'roomconfig' });
    at.roomConfig = new RoomConfiguration({ agents: [new RoomAgentDispatch({ agentName: NAMED, metadata: 'from token' })] });
    const h = await human('roomconfig', { token: await at.toJwt() });
    await h.agentWithHello(NAMED);
    const list = await dispatch.listDispatch('roomconfig');
    assert.deepEqual(list.map((x) => [x.agentName, x.metadata]), [[NAMED, 'from token']]);
    await h.close();
  });

  test('CreateRoom{agents} dispatches at creation, before anyone joins', async () => {
    await rooms.createRoom({ name: 'created', agents: [new RoomAgentDispatch({ agentName: NAMED })] });
    await journalWait({ type: 'agent_job_assigned', room: 'created' });
    const h = await human('created');
    await h.agentWithHello(NAMED);
    assert.deepEqual((await dispatch.listDispatch('created')).map((x) => x.agentName), [NAMED]);
    await h.close();
  });

  test('a room that closes ends its job (termination)', async () => {
    const assigned = (await journal('agent_job_assigned', 'auto')).find((e) => e.detail.agentName === '');
    await rooms.deleteRoom('auto');
    const ended = await journalWait({ type: 'agent_job_ended', room: 'auto', identity: assigned.identity }, 5_000);
    assert.equal(ended.detail.reason, 'room_closed');
  });

  test('a worker that disconnects is forgotten with its jobs', async () => {
    const reg = (await journal('agent_worker_registered')).find((e) => e.detail.agentName === NAMED);
    await workers.named.stop();
    delete workers.named;
    const left = await journalWait({ type: 'agent_worker_left' });
    assert.equal(left.detail.worker, reg.detail.worker);
    const h = await human('after-left', { token: await (async () => {
      const at = new AccessToken(API_KEY, API_SECRET, { identity: 'human-al', ttl: '10m' });
      at.addGrant({ roomJoin: true, room: 'after-left' });
      at.roomConfig = new RoomConfiguration({ agents: [new RoomAgentDispatch({ agentName: NAMED })] });
      return at.toJwt();
    })() });
    const failed = await journalWait({ type: 'agent_job_failed', room: 'after-left' }, 5_000);
    assert.equal(failed.detail.reason, 'no worker');
    await h.close();
  });
});
