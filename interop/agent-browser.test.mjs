// A scripted agent hears a livekit-client user in headless Chromium whose
// fake microphone plays a generated "speech" file with pauses: each burst of
// sound followed by silence is a user turn (found in the Opus packets'
// sizes), whose words come from the script's `heard` list and reach the user
// as its own transcription; the agent answers with audio and a transcription,
// and stops when the user speaks over it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBrowser, skipBrowser } from './lib/browser.mjs';
import { startServer } from './lib/server.mjs';
import { sdkToken, within, WAIT_MS } from './lib/livekit.mjs';

const RATE = 48000;

/**
 * A 16-bit mono WAV of segments [seconds, voiced]: voiced segments are a
 * 150 Hz voice-like buzz (three harmonics) whose loudness rises and falls
 * four times a second, like syllables; the others are silence.
 */
function speechWav(segments) {
  const total = segments.reduce((n, [s]) => n + Math.round(s * RATE), 0);
  const buf = Buffer.alloc(44 + total * 2);
  buf.write('RIFF', 0); buf.writeUInt32LE(36 + total * 2, 4); buf.write('WAVE', 8);
  buf.write('fmt ', 12); buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(RATE, 24); buf.writeUInt32LE(RATE * 2, 28); buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34);
  buf.write('data', 36); buf.writeUInt32LE(total * 2, 40);
  let i = 0;
  for (const [seconds, voiced] of segments) {
    const n = Math.round(seconds * RATE);
    for (let k = 0; k < n; k++, i++) {
      let v = 0;
      if (voiced) {
        const t = k / RATE;
        const env = 0.55 + 0.45 * Math.sin(2 * Math.PI * 4 * t);
        v = env * (0.5 * Math.sin(2 * Math.PI * 150 * t) + 0.3 * Math.sin(2 * Math.PI * 300 * t) + 0.2 * Math.sin(2 * Math.PI * 450 * t));
      }
      buf.writeInt16LE(Math.round(v * 12000), 44 + i * 2);
    }
  }
  return buf;
}

const PAGE = `
  window.transcripts = [];
  window.lkJoin = async (url, token) => {
    const room = new LivekitClient.Room();
    window.room = room;
    room.registerTextStreamHandler('lk.transcription', async (reader, from) => {
      const text = await reader.readAll();
      transcripts.push({ text, from: from.identity, attributes: reader.info.attributes });
    });
    await room.connect(url, token);
    await room.localParticipant.setMicrophoneEnabled(true);
    return room.localParticipant.getTrackPublications().map((p) => p.trackSid);
  };
`;

let srv;
let browser;
let dir;

before(async () => {
  if (skipBrowser) return;
  srv = await startServer({ env: { LOG_LEVEL: 'warn' } });
  dir = mkdtempSync(join(tmpdir(), 'lkm-speech-'));
  // 1 s of silence, a 1.2 s turn, 2 s of silence, a 1.2 s turn that
  // interrupts the long answer to the first, then silence; the file loops.
  const wav = join(dir, 'speech.wav');
  writeFileSync(wav, speechWav([[1, false], [1.2, true], [2, false], [1.2, true], [6, false]]));
  browser = await startBrowser(PAGE, { args: [`--use-file-for-fake-audio-capture=${wav}`] });
});

after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (!srv) return;
  const code = await srv.stop();
  const err = srv.stderr();
  assert.equal(code, 0, `server exited with ${code}\n${err.slice(-20_000)}`);
  assert.doesNotMatch(err, /panic|fatal error|DATA RACE/);
});

async function admin(method, path, body) {
  const res = await fetch(`${srv.url}/__admin${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function journalWait(type, room, match) {
  const deadline = Date.now() + 2 * WAIT_MS;
  let since = 0;
  while (Date.now() < deadline) {
    const r = await admin('POST', '/events/wait', { type, room, since, timeout_ms: Math.max(1, deadline - Date.now()) });
    assert.equal(r.status, 200, `waiting for ${type}: ${JSON.stringify(r.body)}`);
    if (match(r.body.detail ?? {})) return r.body;
    since = r.body.seq;
  }
  throw new Error(`no matching ${type}`);
}

const long = 'The weather today is sunny with a light breeze from the west, and it stays that way until late in the evening.';

test('speech from a browser microphone becomes turns; the agent answers and is interrupted', { skip: skipBrowser }, async () => {
  await admin('POST', '/reset');
  const added = await admin('POST', '/rooms/voice/participants', {
    identity: 'assistant', kind: 'agent',
    agent: { heard: ['what is the weather', 'stop please'], replies: [{ when: 'weather', say: long }, { say: 'You said: {text}' }], thinking_ms: 100 },
  });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  const page = await browser.newPage((e) => console.error('page error', e));
  const [micSid] = await within(page.evaluate(([u, t]) => window.lkJoin(u, t), [srv.wsUrl, await sdkToken('user', 'voice')]), 30_000, 'browser join');

  // The first burst is a turn heard as the script's first entry, published
  // as the user's transcription of its microphone.
  const heard = await journalWait('agent_heard', 'voice', (d) => d.via === 'speech');
  assert.equal(heard.detail.text, 'what is the weather');
  assert.equal(heard.detail.from, 'user');
  // The answer starts; the second burst interrupts it.
  const cut = await journalWait('agent_interrupted', 'voice', () => true);
  assert.equal(cut.detail.text, long);
  assert.ok(cut.detail.spoken.length < long.length, `spoken before the interruption: ${cut.detail.spoken}`);
  // The second turn is answered in full.
  await journalWait('agent_said', 'voice', (d) => d.text === 'You said: stop please');

  const transcripts = await within((async () => {
    for (;;) {
      const t = await page.evaluate(() => window.transcripts);
      if (t.some((x) => x.text === 'You said: stop please')) return t;
      await new Promise((ok) => setTimeout(ok, 100));
    }
  })(), WAIT_MS, 'transcriptions in the browser');
  const mine = transcripts.find((t) => t.from === 'user' && t.text === 'what is the weather');
  assert.ok(mine, JSON.stringify(transcripts));
  assert.equal(mine.attributes['lk.transcribed_track_id'], micSid);
  const answer = transcripts.find((t) => t.from === 'assistant' && t.text === 'You said: stop please');
  assert.equal(answer.attributes['lk.transcription_final'], 'true');
  const interrupted = transcripts.find((t) => t.from === 'assistant' && long.startsWith(t.text) && t.text !== long);
  assert.ok(interrupted, `the interrupted answer stops short: ${JSON.stringify(transcripts)}`);
  await page.close();
});
