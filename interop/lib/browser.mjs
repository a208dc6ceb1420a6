// Headless Debian Chromium (driven by playwright-core, never a downloaded
// browser) serving livekit-client's UMD build from a loopback web server.
//
//   const b = await startBrowser(pageScript);   // null when Chromium is missing
//   const page = await b.newPage();             // page.evaluate(...) the script's functions
//   await b.close();
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

export const CHROMIUM = '/usr/bin/chromium';

/** Why browser tests are skipped here, or false. */
export const skipBrowser = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium); browser interop skipped`;

/** The launch arguments of browser.test.mjs: loopback ICE and fake media devices. */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--allow-loopback-in-peer-connection', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
];

const require = createRequire(import.meta.url);
const umdPath = join(dirname(require.resolve('livekit-client')), 'livekit-client.umd.js');

/**
 * Starts a web server for a page that loads livekit-client and runs
 * `script`, and a persistent Chromium context.
 */
export async function startBrowser(script, { args = [] } = {}) {
  if (skipBrowser) return null;
  const page = `<!doctype html><meta charset="utf-8"><title>livekit-mock media interop</title>
<script src="/livekit-client.umd.js"></script>
<script>${script}</script>`;
  const umd = readFileSync(umdPath);
  const web = createServer((req, res) => {
    if (req.url === '/livekit-client.umd.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(umd);
    } else if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => web.listen(0, '127.0.0.1', ok));
  const { chromium } = await import('playwright-core');
  const profileDir = mkdtempSync(join(tmpdir(), 'lkm-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...args],
    });
  } catch (err) {
    await new Promise((ok) => web.close(ok));
    rmSync(profileDir, { recursive: true, force: true });
    throw err;
  }
  const origin = `http://127.0.0.1:${web.address().port}`;
  return {
    context,
    async newPage(onError) {
      const p = await context.newPage();
      if (onError) p.on('pageerror', onError);
      await p.goto(`${origin}/`);
      return p;
    },
    async close() {
      await context.close().catch(() => {});
      await new Promise((ok) => web.close(ok));
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}
