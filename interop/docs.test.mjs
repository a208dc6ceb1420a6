// The examples of README.md and docs/*.md run as written, in order, from a
// clean start, against the built binary (`make build`):
//
//  - every ```sh / ```bash block runs in bash (set -euo pipefail) and must exit
//    0; curl is called with --fail-with-body, so an example whose request gets
//    an error status fails unless the comment before it says
//    `<!-- errors expected -->`;
//  - every ```js block runs as an ES module under Node from interop/ (whose
//    node_modules has the SDKs) and must exit 0 within its time: an example
//    that leaves handles open (no rtc-node dispose()) fails;
//  - a block preceded by `<!-- not run: <why> -->` is reported as skipped with
//    that reason; one preceded by `<!-- runs until stopped -->` must still run
//    (or have exited 0) after a moment, then is stopped;
//  - a sh block whose last command starts the server (`go run
//    ./cmd/livekit-mock` or `livekit-mock` with settings before it) replaces
//    the server of the file; `go run ./cmd/livekit-mock` runs the built binary.
//
// Each file gets a fresh server with its defaults, on a free loopback port:
// the examples' 7880 (HTTP) and 7882 (UDP media) are replaced by the chosen
// ports when a block runs, and `livekit-mock` is on the PATH as after
// `make install`. Every block runs in its own process group, killed after it.
//
// The same files must not point outside the repository, and their relative
// links must name files and headings that exist. DOCS_FILES=README.md,docs/x.md
// limits the run to those files.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { binaryPath, freeTcpPort, freeUdpPort } from './lib/server.mjs';

const INTEROP = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(INTEROP, '..');
const ALL_FILES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
// DOCS_FILES=README.md,docs/rtc.md runs the examples of those files only.
const FILES = process.env.DOCS_FILES ? process.env.DOCS_FILES.split(',') : ALL_FILES;
const BLOCK_TIMEOUT_MS = 30_000;
const LONG_RUNNING_MS = 1_500;
const START_TIMEOUT_MS = 10_000;

/** The fenced blocks of a Markdown text: {lang, code, line, marker}. */
export function blocks(text) {
  const lines = text.split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    let j = i + 1;
    while (j < lines.length && !/^```\s*$/.test(lines[j])) j++;
    let k = i - 1;
    while (k >= 0 && lines[k].trim() === '') k--;
    const m = k >= 0 ? /^<!--\s*(not run:\s*(.+?)|runs until stopped|errors expected)\s*-->$/.exec(lines[k].trim()) : null;
    let marker = null;
    if (m) marker = m[2] ? { notRun: m[2] } : { kind: m[1] };
    out.push({ lang: open[1], code: lines.slice(i + 1, j).join('\n') + '\n', line: i + 1, marker });
    i = j;
  }
  return out;
}

const SERVER_LINE = /^((?:[A-Z_][A-Z0-9_]*=\S*\s+)*)(?:go run \.\/cmd\/livekit-mock|livekit-mock)(\s+serve)?\s*(#.*)?$/;

/** Whether a sh block's last command starts the server (in the foreground). */
function startsServer(code) {
  const cmds = code.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  return cmds.length > 0 && SERVER_LINE.test(cmds[cmds.length - 1]);
}

function cleanEnv(port, udpPort) {
  const env = {};
  for (const k of ['HOME', 'LANG', 'LC_ALL', 'TMPDIR', 'USER', 'TERM']) {
    if (process.env[k] !== undefined) env[k] = process.env[k];
  }
  env.PATH = `${dirname(binaryPath())}:${process.env.PATH}`;
  return { ...env, PORT: String(port), BIND: '127.0.0.1', RTC_UDP_PORT: String(udpPort), NODE_IP: '127.0.0.1' };
}

function rewrite(code, port, udpPort) {
  return code
    .replaceAll('go run ./cmd/livekit-mock', 'livekit-mock')
    .replace(/\b7880\b/g, String(port))
    .replace(/\b7882\b/g, String(udpPort));
}

/** Spawns a command in its own process group; collects its output. */
function run(cmd, args, { env, cwd }) {
  const proc = spawn(cmd, args, { env, cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.setEncoding('utf8').on('data', (c) => { output = (output + c).slice(-16384); });
  proc.stderr.setEncoding('utf8').on('data', (c) => { output = (output + c).slice(-16384); });
  let exit = null;
  const exited = new Promise((ok) => {
    proc.once('exit', (code, signal) => { exit = { code, signal }; ok(exit); });
    proc.once('error', (err) => { exit = { code: null, signal: null, err }; ok(exit); });
  });
  const killGroup = (sig) => { try { process.kill(-proc.pid, sig); } catch { /* gone */ } };
  return {
    exited,
    output: () => output,
    running: () => exit === null,
    /** Ends the whole group: SIGTERM, then SIGKILL after 5 s. */
    async stop() {
      killGroup('SIGTERM');
      const t = setTimeout(() => killGroup('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
      killGroup('SIGKILL'); // anything the block left in the background
    },
  };
}

async function healthy(port, proc) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!proc.running()) throw new Error(`the server exited before it answered:\n${proc.output()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the server did not answer /health within ${START_TIMEOUT_MS} ms:\n${proc.output()}`);
}

function timeout(ms) {
  let t;
  const p = new Promise((ok) => { t = setTimeout(() => ok('timeout'), ms); });
  return { p, clear: () => clearTimeout(t) };
}

/** The first of the tools a sh block uses that is not installed here, or null. */
const TOOLS = ['curl', 'jq', 'openssl'];
function missingTool(code) {
  for (const tool of TOOLS) {
    if (!new RegExp(`(^|[\\s|($])${tool}\\s`, 'm').test(code)) continue;
    const found = (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, tool)));
    if (!found) return tool;
  }
  return null;
}

test('the binary under test exists', () => {
  assert.ok(existsSync(binaryPath()), `no binary at ${binaryPath()}: run \`make build\` at the repository root`);
});

for (const file of FILES) {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const runnable = blocks(text).filter((b) => ['sh', 'bash', 'js'].includes(b.lang));

  describe(`${file}: its examples run as written`, () => {
    let port;
    let udpPort;
    let env;
    let server = null;
    let dir;

    const startServer = async (script) => {
      if (server) await server.stop();
      server = null;
      const proc = run('bash', ['-c', script], { env, cwd: dir });
      await healthy(port, proc);
      server = proc;
    };

    before(async () => {
      port = await freeTcpPort();
      udpPort = await freeUdpPort();
      if (udpPort === port) udpPort = await freeUdpPort();
      env = cleanEnv(port, udpPort);
      dir = mkdtempSync(join(tmpdir(), 'lkm-docs-'));
      await startServer('exec livekit-mock');
    });

    after(async () => {
      if (server) await server.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    for (const b of runnable) {
      const name = `${file}:${b.line} (${b.lang})`;
      if (b.marker?.notRun) {
        test(name, { skip: `not run: ${b.marker.notRun}` }, () => {});
        continue;
      }
      const tool = b.lang === 'js' ? null : missingTool(b.code);
      if (tool) {
        test(name, { skip: `${tool} is not installed (apt-get install ${tool}); this example is not run` }, () => {});
        continue;
      }
      test(name, async () => {
        const code = rewrite(b.code, port, udpPort);
        if (b.lang !== 'js' && startsServer(b.code)) {
          await startServer(`set -euo pipefail\n${code}`);
          return;
        }
        let proc;
        let script;
        if (b.lang === 'js') {
          script = join(INTEROP, `.docs-example-${process.pid}-${b.line}.mjs`);
          writeFileSync(script, code);
          proc = run(process.execPath, [script], { env, cwd: dir });
        } else {
          const curl = b.marker?.kind === 'errors expected'
            ? 'curl() { command curl --max-time 20 "$@"; }'
            : 'curl() { command curl --fail-with-body --max-time 20 "$@"; }';
          proc = run('bash', ['-c', `set -euo pipefail\n${curl}\n${code}`], { env, cwd: dir });
        }
        try {
          if (b.marker?.kind === 'runs until stopped') {
            const t = timeout(LONG_RUNNING_MS);
            const r = await Promise.race([proc.exited, t.p]);
            t.clear();
            if (r !== 'timeout') assert.equal(r.code, 0, `${name} ended with ${JSON.stringify(r)}:\n${proc.output()}`);
            return;
          }
          const t = timeout(BLOCK_TIMEOUT_MS);
          const r = await Promise.race([proc.exited, t.p]);
          t.clear();
          assert.notEqual(r, 'timeout', `${name} did not end within ${BLOCK_TIMEOUT_MS} ms:\n${proc.output()}`);
          assert.equal(r.code, 0, `${name} exited with ${r.code ?? r.signal}:\n${proc.output()}`);
        } finally {
          await proc.stop();
          if (script) rmSync(script, { force: true });
        }
      });
    }
  });
}

/** GitHub's anchor for a heading text. */
function slug(heading) {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

function anchors(text) {
  const seen = new Map();
  const out = new Set();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^```/.test(line)) fenced = !fenced;
    const h = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (!h) continue;
    const base = slug(h[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe('README.md and docs/ are self-contained', () => {
  for (const file of FILES) {
    test(`${file} points only inside the repository`, () => {
      const text = readFileSync(join(ROOT, file), 'utf8');
      assert.doesNotMatch(text, /SPEC\s*§|shared\/(SPEC|ARCHITECTURE|reference)/, `${file} cites an internal document`);
      const dirOf = dirname(join(ROOT, file));
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue; // http:, https:, mailto:
        const [path, anchor] = target.split('#');
        const abs = path ? resolve(dirOf, path) : join(ROOT, file);
        assert.ok(abs.startsWith(ROOT + '/'), `${file} links outside the repository: ${target}`);
        assert.ok(existsSync(abs), `${file} links to a missing file: ${target}`);
        if (anchor && abs.endsWith('.md')) {
          assert.ok(anchors(readFileSync(abs, 'utf8')).has(anchor), `${file} links to a missing heading: ${target}`);
        }
      }
    });
  }
});
