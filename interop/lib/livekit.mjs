// Helpers for the SDK interop tests: tokens, event waits with deadlines, and
// a JSON-dialect participant over the `ws` package (Node 20 has no global
// WebSocket).
import { createHmac } from 'node:crypto';
import { AccessToken } from 'livekit-server-sdk';
import WebSocket from 'ws';
import { AudioStream } from '@livekit/rtc-node';

export const API_KEY = 'devkey';
export const API_SECRET = 'secret';

/** Deadline for one network event on loopback; never a speed assertion. */
export const WAIT_MS = 15_000;

/** An SDK-minted token (livekit-server-sdk AccessToken). */
export async function sdkToken(identity, room, { name, metadata, grants = {}, key = API_KEY, secret = API_SECRET } = {}) {
  const at = new AccessToken(key, secret, { identity, name, metadata, ttl: '10m' });
  at.addGrant({ roomJoin: true, room, ...grants });
  return at.toJwt();
}

/** An HS256 token from raw claims, for shapes AccessToken refuses to make (expired). */
export function rawToken(claims, secret = API_SECRET) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

/**
 * Resolves with the arguments of the first `event` emitted by `emitter` for
 * which `match(...args)` holds; rejects after `ms`.
 */
export function waitEvent(emitter, event, match = () => true, ms = WAIT_MS) {
  return new Promise((ok, fail) => {
    const on = (...args) => {
      if (!match(...args)) return;
      clearTimeout(timer);
      emitter.off(event, on);
      ok(args);
    };
    const timer = setTimeout(() => {
      emitter.off(event, on);
      fail(new Error(`timed out after ${ms} ms waiting for ${event}`));
    }, ms);
    emitter.on(event, on);
  });
}

/** Rejects if `p` has not settled within `ms`. */
export function within(p, ms, what) {
  let timer;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise((_, fail) => { timer = setTimeout(() => fail(new Error(`timed out after ${ms} ms: ${what}`)), ms); }),
  ]);
}

/**
 * A JSON-dialect participant (SPEC §6.1). `next(type, match)` waits for the
 * next message of that type (messages are kept until read).
 */
export async function jsonParticipant(wsUrl) {
  const ws = new WebSocket(`${wsUrl}/rtc`);
  const inbox = [];
  const waiters = [];
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString());
    inbox.push(msg);
    for (const w of [...waiters]) w();
  });
  await new Promise((ok, fail) => { ws.once('open', ok); ws.once('error', fail); });
  const client = {
    ws,
    send: (msg) => ws.send(JSON.stringify(msg)),
    next(type, match = () => true, ms = WAIT_MS) {
      return new Promise((ok, fail) => {
        const check = () => {
          const i = inbox.findIndex((m) => m.type === type && match(m));
          if (i < 0) return false;
          const [m] = inbox.splice(i, 1);
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(check), 1);
          ok(m);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(check), 1);
          fail(new Error(`timed out after ${ms} ms waiting for JSON message ${type}; got ${JSON.stringify(inbox.map((m) => m.type))}`));
        }, ms);
        waiters.push(check);
        check();
      });
    },
    close() {
      return new Promise((ok) => {
        if (ws.readyState === WebSocket.CLOSED) return ok();
        ws.once('close', ok);
        ws.close();
      });
    },
  };
  await client.next('welcome');
  return client;
}

/** Root mean square of int16 samples. */
export function rms(samples) {
  let sum = 0;
  for (const s of samples) sum += s * s;
  return samples.length ? Math.sqrt(sum / samples.length) : 0;
}

/** Frames of a sine tone: `ms` of int16 samples at `hz`, mono. */
export function toneFrames(hz, { sampleRate = 48000, ms = 10, amplitude = 8000 } = {}) {
  const n = (sampleRate * ms) / 1000;
  let phase = 0;
  return () => {
    const data = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      data[i] = Math.round(amplitude * Math.sin(phase));
      phase += (2 * Math.PI * hz) / sampleRate;
    }
    phase %= 2 * Math.PI;
    return data;
  };
}

/** RMS (int16) above which a frame counts as sound; the test tone has ≈ 5600. */
export const LOUD = 500;

/**
 * Reads a remote audio `track` as 48 kHz mono frames until one is louder
 * than LOUD; resolves with its RMS and the number of frames read.
 */
export async function firstLoudFrame(track, what) {
  const stream = new AudioStream(track, 48000, 1);
  const reader = stream.getReader();
  const deadline = Date.now() + WAIT_MS;
  let frames = 0;
  let loudest = 0;
  try {
    while (Date.now() < deadline) {
      const { value, done } = await within(reader.read(), WAIT_MS, `${what}: next audio frame`);
      if (done) break;
      frames++;
      const level = rms(value.data);
      loudest = Math.max(loudest, level);
      if (level > LOUD) return { level, frames };
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  throw new Error(`${what}: no frame above RMS ${LOUD} in ${frames} frames (loudest ${loudest.toFixed(1)})`);
}
