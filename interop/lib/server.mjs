// Starts a livekit-mock binary for one test file and stops it again.
//
//   const srv = await startServer({ env: { RATE_LIMIT_MAX: '0' }, args: [] });
//   ... fetch(`${srv.url}/health`) ...
//   const code = await srv.stop();
//
// The binary is $LIVEKIT_MOCK_BIN or ../bin/livekit-mock relative to interop/
// (`go build -o bin/livekit-mock ./cmd/livekit-mock` at the repository root).
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const interopDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Path of the binary under test. */
export function binaryPath() {
  return process.env.LIVEKIT_MOCK_BIN
    ? resolve(process.env.LIVEKIT_MOCK_BIN)
    : resolve(interopDir, '..', 'bin', 'livekit-mock');
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freeTcpPort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/** A UDP port on 127.0.0.1 that was free a moment ago (for RTC_UDP_PORT). */
export function freeUdpPort() {
  return new Promise((ok, fail) => {
    const sock = createSocket('udp4');
    sock.unref();
    sock.once('error', fail);
    sock.bind(0, '127.0.0.1', () => {
      const { port } = sock.address();
      sock.close(() => ok(port));
    });
  });
}

const HEALTH_POLL_MS = 20;
const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const STDERR_KEEP = 64 * 1024;

/**
 * Spawns the binary on free loopback ports and resolves once GET /health
 * answers 200.
 * @param {{env?: Record<string,string>, args?: string[]}} [opts]
 * @returns {Promise<{url: string, wsUrl: string, port: number, udpPort: number,
 *   proc: import('node:child_process').ChildProcess, stderr: () => string,
 *   stop: () => Promise<number|null>}>}
 */
export async function startServer({ env = {}, args = [] } = {}) {
  const port = await freeTcpPort();
  let udpPort = await freeUdpPort();
  if (udpPort === port) udpPort = await freeUdpPort();
  const bin = binaryPath();
  const proc = spawn(bin, args, {
    env: {
      ...process.env,
      PORT: String(port),
      BIND: '127.0.0.1',
      RTC_UDP_PORT: String(udpPort),
      NODE_IP: '127.0.0.1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let stderr = '';
  let stdout = '';
  const keep = (buf, chunk) => (buf + chunk).slice(-STDERR_KEEP);
  proc.stderr.setEncoding('utf8').on('data', (c) => { stderr = keep(stderr, c); });
  proc.stdout.setEncoding('utf8').on('data', (c) => { stdout = keep(stdout, c); });

  const exited = new Promise((ok) => {
    proc.once('exit', (code, signal) => ok({ code, signal }));
    proc.once('error', (err) => ok({ code: null, signal: null, err }));
  });
  let exitInfo = null;
  exited.then((info) => { exitInfo = info; });

  const url = `http://127.0.0.1:${port}`;
  const wsUrl = `ws://127.0.0.1:${port}`;

  const stop = async () => {
    let timer;
    if (exitInfo === null) {
      proc.kill('SIGTERM');
      timer = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS);
    }
    const info = await exited;
    clearTimeout(timer);
    return info.code;
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exitInfo !== null) {
      const why = exitInfo.err ? `could not start ${bin}: ${exitInfo.err.message}` : `${bin} exited with code ${exitInfo.code} (signal ${exitInfo.signal}) before it was ready`;
      throw new Error(`${why}\n--- stderr ---\n${stderr}\n--- stdout ---\n${stdout}`);
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${bin} did not answer GET /health with 200 within ${START_TIMEOUT_MS} ms\n--- stderr ---\n${stderr}\n--- stdout ---\n${stdout}`);
    }
    await new Promise((r) => setTimeout(r, HEALTH_POLL_MS));
  }

  return { url, wsUrl, port, udpPort, proc, stderr: () => stderr, stdout: () => stdout, stop };
}

/**
 * Runs the binary once as a CLI (e.g. `token verify <jwt>`) and resolves with
 * its exit code and output; killed after timeoutMs.
 */
export function runCli(args, { env = {}, timeoutMs = 10_000 } = {}) {
  return new Promise((ok, fail) => {
    const proc = spawn(binaryPath(), args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (c) => { stdout += c; });
    proc.stderr.setEncoding('utf8').on('data', (c) => { stderr += c; });
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('error', (err) => { clearTimeout(timer); fail(new Error(`could not run ${binaryPath()}: ${err.message}`)); });
    proc.once('close', (code, signal) => { clearTimeout(timer); ok({ code, signal, stdout, stderr }); });
  });
}
