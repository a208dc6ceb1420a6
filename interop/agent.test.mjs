// Scripted agents: a fake participant of kind agent added through the
// test-control API behaves, for an @livekit/rtc-node client, like an agent
// built with the Agents framework: kind AGENT, lk.agent.state, its speech as
// lk.transcription text streams and sound on its microphone track, replies
// to lk.chat text, RPC answers, and speech on demand (…/say).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ParticipantKind, Room, RoomEvent, TrackKind, dispose } from '@livekit/rtc-node';
import { startServer } from './lib/server.mjs';
import { firstLoudFrame, LOUD, sdkToken, waitEvent, within, WAIT_MS } from './lib/livekit.mjs';

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

/** Waits for the next journal entry of type in room whose detail matches, after seq since. */
async function journalWait(type, room, match = () => true, since = 0) {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    const r = await admin('POST', '/events/wait', { type, room, since, timeout_ms: Math.max(1, deadline - Date.now()) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const e = r.body.event ?? r.body;
    if (match(e.detail ?? {})) return e;
    since = e.seq;
  }
  throw new Error(`no ${type} in ${room} matching within ${WAIT_MS} ms`);
}

/** Collects every lk.transcription text stream the room receives. */
function transcripts(room) {
  const got = [];
  const waiters = [];
  room.registerTextStreamHandler('lk.transcription', async (reader, from) => {
    const text = await reader.readAll();
    got.push({ text, from: from.identity, attributes: { ...(reader.info.attributes ?? {}) } });
    for (const w of [...waiters]) w();
  });
  return {
    got,
    next(match) {
      return within(new Promise((ok) => {
        const check = () => {
          const t = got.find(match);
          if (!t) return false;
          waiters.splice(waiters.indexOf(check), 1);
          ok(t);
          return true;
        };
        waiters.push(check);
        check();
      }), WAIT_MS, 'transcription');
    },
  };
}

/** Records the lk.agent.state values an agent goes through. */
function states(room, identity) {
  const seen = [];
  room.on(RoomEvent.ParticipantAttributesChanged, (changed, p) => {
    if (p.identity === identity && changed['lk.agent.state']) seen.push(changed['lk.agent.state']);
  });
  return seen;
}

async function nodeConnect(identity, room) {
  const r = new Room();
  nodeRooms.push(r);
  await within(r.connect(srv.wsUrl, await sdkToken(identity, room), { autoSubscribe: true }), 20_000, `${identity} connect`);
  return r;
}

before(async () => {
  srv = await startServer({ env: { LOG_LEVEL: 'warn' } });
});

after(async () => {
  for (const r of nodeRooms) await within(r.disconnect(), 5_000, 'disconnect').catch(() => {});
  const code = await srv?.stop();
  const err = srv?.stderr() ?? '';
  await dispose();
  assert.equal(code, 0, `server exited with ${code}\n${err.slice(-20_000)}`);
  assert.doesNotMatch(err, /panic|fatal error|DATA RACE/);
});

const greeting = 'Hello there, I am the scripted assistant of this room and I speak for a few seconds.';
const script = {
  greeting,
  replies: [{ when: 'weather', say: 'Sunny all day' }, { say: 'You said: {text}' }],
  rpc: { get_time: 'noon' },
  thinking_ms: 200,
};

describe('scripted agent', () => {
  test('greets, answers chat, RPC and say, with state, transcriptions and sound', async () => {
    await admin('POST', '/reset');
    const human = await nodeConnect('human', 'agent-room');
    const heard = transcripts(human);
    const seen = states(human, 'assistant');
    const joined = waitEvent(human, RoomEvent.ParticipantConnected, (p) => p.identity === 'assistant');
    const subscribed = waitEvent(human, RoomEvent.TrackSubscribed,
      (t, _p, who) => who.identity === 'assistant' && t.kind === TrackKind.KIND_AUDIO);

    const added = await admin('POST', '/rooms/agent-room/participants', { identity: 'assistant', kind: 'agent', agent: script });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    assert.equal(added.body.participant.kind, 'agent');
    const [agent] = await joined;
    assert.equal(agent.kind, ParticipantKind.AGENT);

    // Its microphone carries sound while it greets.
    const [track, publication] = await subscribed;
    const { level } = await firstLoudFrame(track, 'human');
    assert.ok(level > LOUD);

    // The greeting, as agents send it: one lk.transcription stream with a
    // segment id, the agent's track, and final set by the trailer.
    const hello = await heard.next((t) => t.text === greeting);
    assert.equal(hello.from, 'assistant');
    assert.match(hello.attributes['lk.segment_id'] ?? '', /^SG_/);
    assert.equal(hello.attributes['lk.transcribed_track_id'], publication.sid);
    // The header says interim; the trailer marks it final (rtc-node keeps
    // the header's attributes, livekit-client merges the trailer's).
    assert.equal(hello.attributes['lk.transcription_final'], 'false');
    await journalWait('agent_said', 'agent-room', (d) => d.greeting === true);
    await within((async () => {
      while (agent.attributes['lk.agent.state'] !== 'listening') await new Promise((ok) => setTimeout(ok, 20));
    })(), WAIT_MS, 'lk.agent.state listening after the greeting');
    assert.equal(seen.at(-1), 'listening');
    assert.ok(seen.includes('speaking'), `states seen: ${seen}`);

    // Chat text gets the first reply whose `when` occurs in it, after thinking.
    seen.length = 0;
    await human.localParticipant.sendText('What is the WEATHER like?', { topic: 'lk.chat' });
    const sunny = await heard.next((t) => t.text === 'Sunny all day');
    assert.equal(sunny.from, 'assistant');
    const said = await journalWait('agent_said', 'agent-room', (d) => d.text === 'Sunny all day');
    assert.ok(said);
    assert.deepEqual(seen, ['thinking', 'speaking', 'listening']);

    // {text} is the turn's text.
    await human.localParticipant.sendText('Book a table', { topic: 'lk.chat' });
    await heard.next((t) => t.text === 'You said: Book a table');
    const turn = await journalWait('agent_heard', 'agent-room', (d) => d.text === 'Book a table');
    assert.equal(turn.identity, 'assistant');

    // RPC: a scripted method answers; an unknown one is unsupported (1400).
    const now = await within(human.localParticipant.performRpc({ destinationIdentity: 'assistant', method: 'get_time', payload: '' }), WAIT_MS, 'rpc');
    assert.equal(now, 'noon');
    await assert.rejects(
      within(human.localParticipant.performRpc({ destinationIdentity: 'assistant', method: 'launch', payload: '' }), WAIT_MS, 'rpc'),
      (err) => err.code === 1400,
    );

    // say: the agent speaks now.
    const r = await admin('POST', '/rooms/agent-room/participants/assistant/say', { text: 'A test drives me.' });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    await heard.next((t) => t.text === 'A test drives me.');
  });

  test('bad scripts and say requests get a 400 naming the field', async () => {
    await admin('POST', '/reset');
    for (const [agent, field] of [
      [{ replies: [{ when: 'x' }] }, 'agent.replies[0].say'],
      [{ greeting: 'x'.repeat(1001) }, 'agent.greeting'],
      [{ thinking_ms: 'slow' }, 'agent.thinking_ms'],
      [{ greting: 'typo' }, 'agent.greting'],
    ]) {
      const r = await admin('POST', '/rooms/bad-agent/participants', { identity: 'a', kind: 'agent', agent });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.ok(JSON.stringify(r.body).includes(field), `${JSON.stringify(r.body)} names ${field}`);
    }
    assert.equal((await admin('POST', '/rooms/bad-agent/participants', { identity: 'a', kind: 'robot' })).status, 400);
    assert.equal((await admin('POST', '/rooms/bad-agent/participants', { identity: 'plain' })).status, 201);
    const notAgent = await admin('POST', '/rooms/bad-agent/participants/plain/say', { text: 'hi' });
    assert.equal(notAgent.status, 400);
    assert.equal((await admin('POST', '/rooms/bad-agent/participants/nobody/say', { text: 'hi' })).status, 404);
    assert.equal((await admin('POST', '/rooms/bad-agent/participants', { identity: 'a', kind: 'agent' })).status, 201);
    assert.equal((await admin('POST', '/rooms/bad-agent/participants/a/say', {})).status, 400);
  });
});

describe('configured scripted agents', () => {
  test('AGENTS_FILE and AGENT_DEFAULT: the default agent joins every new room, with no worker running', async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'lkm-agents-'));
    const file = join(dir, 'agents.json');
    writeFileSync(file, JSON.stringify({ support: { greeting: 'Support here, how can I help?', replies: [{ say: 'Noted: {text}' }] } }));
    const own = await startServer({ env: { LOG_LEVEL: 'warn', AGENTS_FILE: file, AGENT_DEFAULT: 'support' } });
    const room = new Room();
    try {
      const heard = transcripts(room);
      const joined = waitEvent(room, RoomEvent.ParticipantConnected, (p) => p.kind === ParticipantKind.AGENT);
      await within(room.connect(own.wsUrl, await sdkToken('dev', 'my-app'), { autoSubscribe: true }), 20_000, 'connect');
      const [agent] = await joined;
      assert.match(agent.identity, /^agent-AJ_/);
      assert.equal(agent.attributes['lk.agent.name'], 'support');
      const hello = await heard.next((t) => t.text === 'Support here, how can I help?');
      assert.equal(hello.from, agent.identity);
      await room.localParticipant.sendText('my order is late', { topic: 'lk.chat' });
      await heard.next((t) => t.text === 'Noted: my order is late');
      // Alone with the agent no more: the agent leaves with the last user.
      await within(room.disconnect(), 5_000, 'disconnect');
      const res = await fetch(`${own.url}/__admin/events/wait`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ type: 'participant_left', room: 'my-app', identity: agent.identity, timeout_ms: WAIT_MS }),
      });
      assert.equal(res.status, 200, await res.text());
    } finally {
      await within(room.disconnect(), 5_000, 'disconnect').catch(() => {});
      assert.equal(await own.stop(), 0, own.stderr());
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a token's roomConfig.agents naming a configured scripted agent brings it, with no worker and no default", async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { AccessToken, RoomAgentDispatch, RoomConfiguration } = await import('livekit-server-sdk');
    const dir = mkdtempSync(join(tmpdir(), 'lkm-agents-'));
    const file = join(dir, 'agents.json');
    writeFileSync(file, JSON.stringify({
      support: { greeting: 'Support here.' },
      sales: { greeting: 'Sales here, what can I sell you?' },
    }));
    const own = await startServer({ env: { LOG_LEVEL: 'warn', AGENTS_FILE: file } });
    const room = new Room();
    const other = new Room();
    try {
      const at = new AccessToken('devkey', 'secret', { identity: 'buyer', ttl: '10m' });
      at.addGrant({ roomJoin: true, room: 'shop' });
      at.roomConfig = new RoomConfiguration({ agents: [new RoomAgentDispatch({ agentName: 'sales' })] });
      const heard = transcripts(room);
      const joined = waitEvent(room, RoomEvent.ParticipantConnected, (p) => p.kind === ParticipantKind.AGENT);
      await within(room.connect(own.wsUrl, await at.toJwt(), { autoSubscribe: true }), 20_000, 'connect');
      const [agent] = await joined;
      assert.equal(agent.attributes['lk.agent.name'], 'sales');
      await heard.next((t) => t.text === 'Sales here, what can I sell you?');
      // The dispatch lists the job as running, held by the scripted agent.
      const assigned = await fetch(`${own.url}/__admin/events/wait`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ type: 'agent_job_assigned', room: 'shop', timeout_ms: WAIT_MS }),
      });
      const entry = await assigned.json();
      assert.equal(entry.detail.scripted, true, JSON.stringify(entry));
      assert.equal(entry.identity, agent.identity);
      // A room without configured agents gets the default dispatch, and no
      // default agent is configured: nobody comes, and the journal says why.
      await within(other.connect(own.wsUrl, await sdkToken('walker', 'street'), { autoSubscribe: true }), 20_000, 'connect');
      const failed = await fetch(`${own.url}/__admin/events/wait`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ type: 'agent_job_failed', room: 'street', timeout_ms: WAIT_MS }),
      });
      assert.equal(failed.status, 200);
      assert.equal((await failed.json()).detail.reason, 'no worker');
      assert.equal([...other.remoteParticipants.values()].length, 0);
    } finally {
      await within(room.disconnect(), 5_000, 'disconnect').catch(() => {});
      await within(other.disconnect(), 5_000, 'disconnect').catch(() => {});
      assert.equal(await own.stop(), 0, own.stderr());
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a bad AGENTS_FILE or AGENT_DEFAULT stops the start-up with a message naming it', async () => {
    const { spawnSync } = await import('node:child_process');
    const { binaryPath } = await import('./lib/server.mjs');
    for (const [env, want] of [
      [{ AGENTS_FILE: '/nonexistent/agents.json' }, /AGENTS_FILE/],
      [{ AGENT_DEFAULT: 'nobody' }, /AGENT_DEFAULT/],
    ]) {
      const r = spawnSync(binaryPath(), [], { env: { ...process.env, PORT: '0', ...env }, encoding: 'utf8', timeout: 20_000 });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr + r.stdout, want);
    }
  });
});
