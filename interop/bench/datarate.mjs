// Reliable data benchmark of the LiveKit dialect (BENCHMARKS.md, "Reliable
// data under load"). Not a test: it prints figures (datarate.test.mjs runs a
// short form of the same and checks it).
//
//   node bench/datarate.mjs [N=50] [RATE=10] [SECONDS=20] [CLIENT_PROCS=10] [BYTES=64]
//   (from interop/, after make build; LIVEKIT_MOCK_BIN picks another binary)
//
// N @livekit/rtc-node participants join one room, spread round-robin over
// CLIENT_PROCS Node processes (bench/datarate-worker.mjs; rtc-node slows
// every connect made from a process that already holds many Rooms, see
// bench/connect.mjs). Then each publishes RATE reliable data packets a second
// for SECONDS seconds, numbered, and every receiver counts which packets of
// which sender it got. After a drain (until nothing new arrived for 3 s,
// at most 2 min: data still queued is late, not lost) it prints, over the
// receivers that stayed connected, the deliveries expected and the ones
// missing; and every receiver that was disconnected, with its reason. The
// server's RSS and CPU time are read before and after the sending.
// Everything runs on 127.0.0.1 and stops by itself.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../lib/server.mjs';
import { sdkToken } from '../lib/livekit.mjs';

const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'datarate-worker.mjs');
const SETTLE_MS = 1000;
const DRAIN_MS = 3000; // the drain ends after this long without a new delivery
const MAX_DRAIN_MS = 120_000;

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** utime+stime of a process, in seconds (clock ticks of 1/100 s). */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function startWorker() {
  const proc = spawn(process.execPath, [WORKER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = new Map();
  createInterface({ input: proc.stdout }).on('line', (line) => {
    const msg = JSON.parse(line);
    waiting.get(msg.id)?.(msg);
    waiting.delete(msg.id);
  });
  const exited = new Promise((ok) => proc.once('exit', ok));
  let next = 0;
  const ask = (req) => {
    const id = next++;
    return new Promise((ok, fail) => {
      waiting.set(id, (msg) => (msg.error ? fail(new Error(msg.error)) : ok(msg)));
      proc.stdin.write(JSON.stringify({ ...req, id }) + '\n');
    });
  };
  return {
    ask,
    async stop() {
      proc.stdin.end(JSON.stringify({ op: 'quit' }) + '\n');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Runs one round against srv (from startServer) and returns its figures:
 * {expected, got, missing, dups, receivers, connected, gapped, disconnected:
 * [{identity, disconnect}], sendFailures, rssBefore, rssAfter, cpu}.
 */
export async function runDataRate(srv, { n = 50, rate = 10, seconds = 20, procs = 10, bytes = 64, room = 'rate', drainMs = DRAIN_MS, maxDrainMs = MAX_DRAIN_MS } = {}) {
  const workers = Array.from({ length: Math.max(1, Math.min(procs, n)) }, startWorker);
  try {
    for (let i = 0; i < n; i++) {
      await workers[i % workers.length].ask({ op: 'connect', url: srv.wsUrl, token: await sdkToken(`p${i}`, room), identity: `p${i}` });
    }
    await sleep(SETTLE_MS);
    const cpuAtStart = (await Promise.all(workers.map((w) => w.ask({ op: 'cpu' })))).reduce((a, r) => a + r.cpu, 0);
    const rssBefore = rssKiB(srv.proc.pid);
    const cpu0 = cpuSeconds(srv.proc.pid);
    const sends = await Promise.all(workers.map((w) => w.ask({ op: 'send', rate, seconds, bytes })));
    // Drain: until the receivers got nothing new for drainMs (at most
    // maxDrainMs): what is still queued is late, not lost.
    const drained = performance.now();
    let last = -1;
    let still = performance.now();
    while (performance.now() - drained < maxDrainMs) {
      const got = (await Promise.all(workers.map((w) => w.ask({ op: 'count' })))).reduce((a, c) => a + c.got, 0);
      if (got !== last) {
        last = got;
        still = performance.now();
      } else if (performance.now() - still >= drainMs) {
        break;
      }
      await sleep(250);
    }
    const drainSeconds = (performance.now() - drained) / 1000;
    const cpu = cpuSeconds(srv.proc.pid) - cpu0;
    const rssAfter = rssKiB(srv.proc.pid);
    const sent = Object.assign({}, ...sends.map((s) => s.sent));
    const sendFailures = sends.reduce((a, s) => a + Object.values(s.failed).reduce((x, y) => x + y, 0), 0);
    const answers = await Promise.all(workers.map((w) => w.ask({ op: 'report', sent })));
    const reports = answers.flatMap((r) => r.receivers);
    const clientCpu = answers.reduce((a, r) => a + r.cpu, 0) - cpuAtStart;
    const total = Object.values(sent).reduce((a, b) => a + b, 0);
    const out = { expected: 0, got: 0, missing: 0, dups: 0, receivers: reports.length, connected: 0, gapped: [], disconnected: [], sendFailures, rssBefore, rssAfter, cpu, clientCpu, drainSeconds, reconnects: 0 };
    for (const r of reports) {
      out.reconnects += r.reconnects;
      if (r.disconnect !== null) {
        out.disconnected.push({ identity: r.identity, disconnect: r.disconnect, missing: r.missing });
        continue;
      }
      out.connected++;
      out.expected += total - (sent[r.identity] ?? 0);
      out.got += r.got;
      out.missing += r.missing;
      out.dups += r.dups;
      if (r.missing) out.gapped.push({ identity: r.identity, missing: r.missing, reconnects: r.reconnects });
    }
    return out;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

/** Fetches the server's data drop counters from /metrics. */
export async function dropCounters(srv) {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith('livekit_mock_data_')).join('; ');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [n = 50, rate = 10, seconds = 20, procs = 10, bytes = 64] = process.argv.slice(2).map(Number);
  const srv = await startServer({ env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' } });
  try {
    const r = await runDataRate(srv, { n, rate, seconds, procs, bytes });
    const pct = r.expected ? ((100 * r.missing) / r.expected).toFixed(2) : '0';
    console.log(`${n} rtc-node participants in one room (${procs} client processes), each ${rate} reliable packets/s of ${bytes} B for ${seconds} s`);
    console.log(`receivers connected to the end: ${r.connected}/${r.receivers}; deliveries expected ${r.expected}, got ${r.got}, missing ${r.missing} (${pct} %), duplicates ${r.dups}; receivers with gaps ${r.gapped.length}`);
    if (r.gapped.length) console.log(`  gaps: ${r.gapped.map((g) => `${g.identity}:${g.missing}${g.reconnects ? `(reconnects ${g.reconnects})` : ''}`).join(' ')}`);
    console.log(`disconnected: ${r.disconnected.length}${r.disconnected.length ? ' ' + r.disconnected.map((d) => `${d.identity}(reason ${d.disconnect}, missing ${d.missing})`).join(' ') : ''}; SDK reconnects ${r.reconnects}; publishData failures ${r.sendFailures}`);
    console.log(`server: RSS ${r.rssBefore} -> ${r.rssAfter} KiB; CPU ${r.cpu.toFixed(1)} s over ${seconds} s of sending and ${r.drainSeconds.toFixed(1)} s of drain (ends ${DRAIN_MS / 1000} s after the last delivery); client processes: CPU ${r.clientCpu.toFixed(1)} s in all`);
    console.log(`metrics: ${(await dropCounters(srv)) || '(no livekit_mock_data_ counters)'}`);
    console.log(`RESULT missing=${r.missing} expected=${r.expected} gapped=${r.gapped.length} disconnected=${r.disconnected.length} unexplained=${r.disconnected.filter((d) => !d.disconnect).length}`);
  } finally {
    await srv.stop();
  }
}
