// One client process of bench/datarate.mjs: it holds the @livekit/rtc-node
// Rooms the coordinator asks it to connect, makes each of them publish
// numbered reliable data packets, and counts what each of them receives.
// One JSON object a line each way:
//
//   in:  {"op":"connect","id":1,"url":"ws://…","token":"…"}  out: {"id":1,"ms":41.2}
//   in:  {"op":"send","id":2,"rate":10,"seconds":20,"bytes":64}
//        out: {"id":2,"sent":{"p0":200,…},"failed":{"p0":0,…}}
//   in:  {"op":"report","id":3,"sent":{"p0":200,…}}
//        out: {"id":3,"receivers":[{"identity":"p0","disconnect":null,
//              "reconnects":0,"got":1990,"missing":0,"dups":0,"late":0},…]}
//   in:  {"op":"count","id":4}                                out: {"id":4,"got":9950}
//   in:  {"op":"cpu","id":5}                                  out: {"id":5,"cpu":3.2}  (seconds)
//   in:  {"op":"quit"}                                        (disconnects all, exits)
//
// Payloads are "<seq>\n" followed by padding, so that a receiver knows which
// packet of which sender it got. The process also ends when its standard
// input closes, so it never outlives the coordinator.
import { createInterface } from 'node:readline';
import { Room, RoomEvent, dispose } from '@livekit/rtc-node';

const CONNECT_TIMEOUT_MS = 30_000;
const held = []; // {identity, room, seen: Map<sender, Set<seq>>, disconnect, reconnects, dups}

function within(p, ms) {
  let timer;
  return Promise.race([
    p,
    new Promise((_, fail) => {
      timer = setTimeout(() => fail(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function connect({ id, url, token, identity }) {
  const room = new Room();
  const h = { identity, room, seen: new Map(), disconnect: null, reconnects: 0, dups: 0 };
  const dec = new TextDecoder();
  room.on(RoomEvent.DataReceived, (payload, p) => {
    const from = p?.identity ?? '?';
    const text = dec.decode(payload.subarray(0, 16));
    const seq = Number(text.slice(0, text.indexOf('\n')));
    let s = h.seen.get(from);
    if (!s) h.seen.set(from, (s = new Set()));
    if (s.has(seq)) h.dups++;
    s.add(seq);
  });
  room.on(RoomEvent.Reconnecting, () => { h.reconnects++; });
  room.on(RoomEvent.Disconnected, (reason) => { h.disconnect ??= String(reason ?? 'unknown'); });
  const t0 = performance.now();
  try {
    await within(room.connect(url, token), CONNECT_TIMEOUT_MS);
    held.push(h);
    return { id, ms: performance.now() - t0 };
  } catch (err) {
    return { id, error: String(err?.message ?? err) };
  }
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** Every held Room sends rate packets a second for seconds seconds. */
async function send({ id, rate, seconds, bytes }) {
  const sent = {};
  const failed = {};
  const total = Math.round(rate * seconds);
  await Promise.all(held.map(async (h, i) => {
    sent[h.identity] = 0;
    failed[h.identity] = 0;
    await sleep((i * 1000) / rate / Math.max(held.length, 1)); // spread the senders
    const t0 = performance.now();
    for (let seq = 0; seq < total; seq++) {
      const wait = t0 + (seq * 1000) / rate - performance.now();
      if (wait > 0) await sleep(wait);
      const head = `${seq}\n`;
      const buf = new Uint8Array(Math.max(bytes, head.length));
      buf.set(new TextEncoder().encode(head));
      try {
        await h.room.localParticipant.publishData(buf, { reliable: true, topic: 'rate' });
        sent[h.identity] = seq + 1;
      } catch {
        failed[h.identity]++;
      }
    }
  }));
  return { id, sent, failed };
}

/** What each held Room got of what the others sent. */
function report({ id, sent }) {
  const receivers = held.map((h) => {
    let got = 0;
    let missing = 0;
    let late = 0;
    const gapsFrom = {};
    for (const [from, n] of Object.entries(sent)) {
      if (from === h.identity) continue;
      const s = h.seen.get(from) ?? new Set();
      let miss = 0;
      for (let seq = 0; seq < n; seq++) if (!s.has(seq)) miss++;
      for (const seq of s) if (seq >= n) late++;
      got += s.size;
      missing += miss;
      if (miss) gapsFrom[from] = miss;
    }
    return { identity: h.identity, disconnect: h.disconnect, reconnects: h.reconnects, got, missing, dups: h.dups, late, gapsFrom };
  });
  const { user, system } = process.cpuUsage();
  return { id, receivers, cpu: (user + system) / 1e6 };
}

/** CPU time of this process so far, in seconds. */
function cpu({ id }) {
  const { user, system } = process.cpuUsage();
  return { id, cpu: (user + system) / 1e6 };
}

/** How many packets the held Rooms received in all (duplicates once). */
function count({ id }) {
  let got = 0;
  for (const h of held) for (const s of h.seen.values()) got += s.size;
  return { id, got };
}

async function quit() {
  for (const h of held) await within(h.room.disconnect(), 5_000).catch(() => {});
  await dispose();
  process.exit(0);
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const msg = JSON.parse(line);
  if (msg.op === 'quit') break;
  const ops = { connect, send, report, count, cpu };
  const out = await ops[msg.op](msg);
  process.stdout.write(JSON.stringify(out) + '\n');
}
await quit();
