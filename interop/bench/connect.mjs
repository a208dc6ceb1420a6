// Connect benchmark of the LiveKit dialect (BENCHMARKS.md, "SDK connect").
// Not a test: it prints figures.
//
//   node bench/connect.mjs [N=50] [ROUNDS=1] [one|each] [CLIENT_PROCS=10] [CYCLES=20]
//   (from interop/, after make build; LIVEKIT_MOCK_BIN picks another binary)
//
// Each round, against a fresh server:
//  1. fill: N @livekit/rtc-node participants join one after another ("one":
//     all in one room, so each join is announced to every participant already
//     there; "each": a room each), spread round-robin over CLIENT_PROCS Node
//     processes (bench/connect-worker.mjs). Each connect is timed from
//     Room.connect() to its resolution; the server's RSS is read before the
//     first and after the last, which gives the memory per participant.
//  2. connect: with the N still connected, a further client process that
//     holds no other Room connects CYCLES times (connect, time, disconnect),
//     alternately into a room of its own and into the room of the N.
//
// Why separate processes: rtc-node's per-Room work slows every further
// connect made from the same process, whichever server it goes to (on this
// machine a connect takes about 47 ms from a process that holds no other
// Room, 68 ms from one that holds 10 and 102 ms from one that holds 20), so
// the fill figures of step 1 measure the client as much as the server;
// step 2 is the connect latency a participant with a client of its own sees
// on a server that already carries N participants. CLIENT_PROCS=1 gives the
// one-process figures.
//
// Each process first connects one warm-up participant (to a room of its own,
// not timed, kept connected) so that the SDK's start-up is not counted.
// Everything runs on 127.0.0.1 and stops by itself.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../lib/server.mjs';
import { sdkToken } from '../lib/livekit.mjs';

const N = Number(process.argv[2] ?? 50);
const ROUNDS = Number(process.argv[3] ?? 1);
const LAYOUT = process.argv[4] ?? 'one';
const PROCS = Math.max(1, Math.min(Number(process.argv[5] ?? 10), N));
const CYCLES = Number(process.argv[6] ?? 20);
const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'connect-worker.mjs');
const SETTLE_MS = 1000;

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** A worker process and a function that sends it one request and waits. */
function startWorker() {
  const proc = spawn(process.execPath, [WORKER], { stdio: ['pipe', 'pipe', 'ignore'] });
  const waiting = new Map();
  createInterface({ input: proc.stdout }).on('line', (line) => {
    const msg = JSON.parse(line);
    waiting.get(msg.id)?.(msg);
    waiting.delete(msg.id);
  });
  const exited = new Promise((ok) => proc.once('exit', ok));
  let next = 0;
  return {
    connect(url, token, keep = true) {
      const id = next++;
      return new Promise((ok, fail) => {
        waiting.set(id, (msg) => (msg.error ? fail(new Error(msg.error)) : ok(msg.ms)));
        proc.stdin.write(JSON.stringify({ op: 'connect', id, url, token, keep }) + '\n');
      });
    },
    async stop() {
      proc.stdin.end(JSON.stringify({ op: 'quit' }) + '\n');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function summary(times) {
  const sorted = [...times].sort((a, b) => a - b);
  return { median: pct(sorted, 50), p90: pct(sorted, 90), max: sorted[sorted.length - 1] };
}

const fmt = (t) => `median ${t.median.toFixed(1)} ms, p90 ${t.p90.toFixed(1)} ms, max ${t.max.toFixed(1)} ms`;

for (let round = 1; round <= ROUNDS; round++) {
  const srv = await startServer({ env: { LOG_LEVEL: 'error' } });
  const workers = Array.from({ length: PROCS + 1 }, startWorker);
  const prober = workers.pop();
  const fill = [];
  const alone = [];
  const busy = [];
  try {
    for (const [i, w] of [...workers, prober].entries()) {
      await w.connect(srv.wsUrl, await sdkToken(`warm-up-${i}`, `warm-up-${i}`));
    }
    await sleep(SETTLE_MS);
    const before = rssKiB(srv.proc.pid);
    for (let i = 0; i < N; i++) {
      const token = await sdkToken(`p${i}`, LAYOUT === 'each' ? `bench-${i}` : 'bench');
      fill.push(await workers[i % PROCS].connect(srv.wsUrl, token));
    }
    await sleep(SETTLE_MS);
    const after = rssKiB(srv.proc.pid);
    for (let i = 0; i < CYCLES; i++) {
      const own = i % 2 === 0;
      const token = await sdkToken(`probe-${i}`, own ? `probe-${i}` : LAYOUT === 'each' ? 'bench-0' : 'bench');
      (own ? alone : busy).push(await prober.connect(srv.wsUrl, token, false));
      await sleep(100);
    }
    if (process.env.SHOW_TIMES) {
      for (const [name, t] of [['fill', fill], ['alone', alone], ['busy', busy]]) {
        console.log(`${name}: ${t.map((x) => x.toFixed(0)).join(' ')}`);
      }
    }
    const perMB = (after - before) / N / 1024;
    const all = summary([...alone, ...busy]);
    const room = LAYOUT === 'each' ? 'a room each' : 'one room';
    console.log(`round ${round}: fill, ${N} rtc-node participants (${room}, ${PROCS} client process${PROCS === 1 ? '' : 'es'}): ` +
      `${fmt(summary(fill))}; server RSS ${before} -> ${after} KiB, ${perMB.toFixed(2)} MB per participant`);
    console.log(`round ${round}: connect with ${N} connected, from a client of its own: ${fmt(all)} ` +
      `(own room: median ${summary(alone).median.toFixed(1)} ms; joining ${LAYOUT === 'each' ? 'bench-0' : `the room of ${N}`}: median ${summary(busy).median.toFixed(1)} ms)`);
    console.log(`RESULT connect_median_ms=${all.median.toFixed(1)} fill_median_ms=${summary(fill).median.toFixed(1)} ` +
      `rss_mb_per_participant=${perMB.toFixed(3)}`);
  } finally {
    await Promise.all([...workers, prober].map((w) => w.stop()));
    await srv.stop();
  }
}
