// Connect benchmark of the LiveKit dialect (BENCHMARKS.md, "SDK connect"):
// N @livekit/rtc-node participants join one room one after another; for each,
// the time from Room.connect() to its resolution, and the server's RSS before
// the first and after the last. Not a test: it prints figures.
//
//   node bench/connect.mjs [N=50] [ROUNDS=1] [one|each]   (from interop/, after make build)
//
// "one" puts every participant in one room (each join is announced to all
// the others); "each" gives every participant a room of its own.
//
// Everything runs on 127.0.0.1 and stops by itself.
import { readFileSync } from 'node:fs';
import { Room, dispose } from '@livekit/rtc-node';
import { startServer } from '../lib/server.mjs';
import { sdkToken, within } from '../lib/livekit.mjs';

const N = Number(process.argv[2] ?? 50);
const ROUNDS = Number(process.argv[3] ?? 1);
const LAYOUT = process.argv[4] ?? 'one';

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

for (let round = 1; round <= ROUNDS; round++) {
  const srv = await startServer({ env: { LOG_LEVEL: 'error' } });
  const rooms = [];
  const times = [];
  try {
    // One warm-up participant, so that start-up allocations are not counted.
    const warm = new Room();
    await within(warm.connect(srv.wsUrl, await sdkToken('warm-up', 'bench')), 20_000, 'warm-up connect');
    rooms.push(warm);
    await new Promise((ok) => setTimeout(ok, 500));
    const before = rssKiB(srv.proc.pid);
    for (let i = 0; i < N; i++) {
      const room = new Room();
      const token = await sdkToken(`p${i}`, LAYOUT === 'each' ? `bench-${i}` : 'bench');
      const t0 = performance.now();
      await within(room.connect(srv.wsUrl, token), 20_000, `connect ${i}`);
      times.push(performance.now() - t0);
      rooms.push(room);
    }
    await new Promise((ok) => setTimeout(ok, 1000));
    const after = rssKiB(srv.proc.pid);
    if (process.env.SHOW_TIMES) console.log(times.map((t) => t.toFixed(0)).join(" "));
    times.sort((a, b) => a - b);
    const perMB = (after - before) / N / 1024;
    console.log(`round ${round}: ${N} rtc-node connects (${LAYOUT === 'each' ? 'a room each' : 'one room'}): median ${pct(times, 50).toFixed(1)} ms, ` +
      `p90 ${pct(times, 90).toFixed(1)} ms, max ${times[times.length - 1].toFixed(1)} ms; ` +
      `server RSS ${before} -> ${after} KiB, ${perMB.toFixed(2)} MB per participant`);
    console.log(`RESULT connect_median_ms=${pct(times, 50).toFixed(1)} rss_mb_per_participant=${perMB.toFixed(3)}`);
  } finally {
    for (const r of rooms) await within(r.disconnect(), 5_000, 'disconnect').catch(() => {});
    await srv.stop();
  }
}
await dispose();
