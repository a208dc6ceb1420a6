// One client process of bench/connect.mjs: it holds the @livekit/rtc-node
// Rooms the coordinator asks it to connect and reports how long each
// Room.connect() took. One JSON object a line each way:
//
//   in:  {"op":"connect","id":3,"url":"ws://…","token":"…"}   out: {"id":3,"ms":41.2}
//   ("keep":false disconnects the Room again once timed)
//   in:  {"op":"quit"}                                         (disconnects all, exits)
//
// A failed connect is reported as {"id":3,"error":"…"}. The process also ends
// when its standard input closes, so it never outlives the coordinator.
import { createInterface } from 'node:readline';
import { Room, dispose } from '@livekit/rtc-node';

const CONNECT_TIMEOUT_MS = 20_000;
const rooms = [];

function within(p, ms) {
  let timer;
  return Promise.race([
    p,
    new Promise((_, fail) => {
      timer = setTimeout(() => fail(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function connect({ id, url, token, keep = true }) {
  const room = new Room();
  const t0 = performance.now();
  try {
    await within(room.connect(url, token), CONNECT_TIMEOUT_MS);
    const ms = performance.now() - t0;
    if (keep) rooms.push(room);
    else await within(room.disconnect(), 5_000);
    return { id, ms };
  } catch (err) {
    return { id, error: String(err?.message ?? err) };
  }
}

async function quit() {
  for (const r of rooms) await within(r.disconnect(), 5_000).catch(() => {});
  await dispose();
  process.exit(0);
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const msg = JSON.parse(line);
  if (msg.op === 'quit') break;
  if (msg.op === 'connect') process.stdout.write(JSON.stringify(await connect(msg)) + '\n');
}
await quit();
