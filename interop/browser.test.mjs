// livekit-client 2.23.0 in headless Debian Chromium (driven by
// playwright-core, never a downloaded browser) against livekit-mock, with an
// rtc-node participant and a JSON-dialect participant in the same room.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { Room, RoomEvent, dispose } from '@livekit/rtc-node';
import { startServer } from './lib/server.mjs';
import { jsonParticipant, sdkToken, waitEvent, within, WAIT_MS } from './lib/livekit.mjs';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium); browser interop skipped`;

const require = createRequire(import.meta.url);
const umdPath = join(dirname(require.resolve('livekit-client')), 'livekit-client.umd.js');

const PAGE = `<!doctype html><meta charset="utf-8"><title>livekit-mock browser interop</title>
<script src="/livekit-client.umd.js"></script>
<script>
  window.events = [];
  window.lkConnect = async (url, token) => {
    const room = new LivekitClient.Room();
    window.room = room;
    room.on(LivekitClient.RoomEvent.ParticipantConnected, (p) => events.push('joined:' + p.identity));
    room.on(LivekitClient.RoomEvent.ParticipantDisconnected, (p) => events.push('left:' + p.identity));
    room.on(LivekitClient.RoomEvent.DataReceived, (payload, p, kind, topic) =>
      events.push('data:' + (p && p.identity) + ':' + topic + ':' + new TextDecoder().decode(payload)));
    const t0 = performance.now();
    await room.connect(url, token);
    return {
      ms: performance.now() - t0,
      name: room.name,
      identity: room.localParticipant.identity,
      sid: room.localParticipant.sid,
      roomSid: await room.getSid(),
      remotes: [...room.remoteParticipants.keys()],
    };
  };
</script>`;

let srv;
let web;
let context;
let profileDir;
const nodeRooms = [];

before(async () => {
  if (skip) return;
  srv = await startServer({ env: { LOG_LEVEL: 'warn' } });
  const umd = readFileSync(umdPath);
  web = createServer((req, res) => {
    if (req.url === '/livekit-client.umd.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(umd);
    } else if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => web.listen(0, '127.0.0.1', ok));
  const { chromium } = await import('playwright-core');
  profileDir = mkdtempSync(join(tmpdir(), 'lkm-chromium-'));
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--allow-loopback-in-peer-connection', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    ],
  });
});

after(async () => {
  if (skip) return;
  await context?.close().catch(() => {});
  for (const r of nodeRooms) await within(r.disconnect(), 5_000, 'disconnect').catch(() => {});
  await new Promise((ok) => (web ? web.close(ok) : ok()));
  await srv?.stop();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  await dispose();
});

test('livekit-client in Chromium connects and shares a room with rtc-node and JSON participants', { skip, timeout: 90_000 }, async (t) => {
  const room = 'browser-room';
  const node = new Room();
  nodeRooms.push(node);
  await within(node.connect(srv.wsUrl, await sdkToken('node-peer', room)), 20_000, 'rtc-node connect');

  const page = await context.newPage();
  page.on('pageerror', (e) => t.diagnostic(`page error: ${e.message}`));
  await page.goto(`http://127.0.0.1:${web.address().port}/`);
  const browserToken = await sdkToken('browser-user', room, { name: 'Browser' });
  const nodeSees = waitEvent(node, RoomEvent.ParticipantConnected, (p) => p.identity === 'browser-user');
  const info = await page.evaluate(([url, token]) => window.lkConnect(url, token), [srv.wsUrl, browserToken]);
  t.diagnostic(`browser connect took ${info.ms.toFixed(1)} ms`);
  assert.equal(info.name, room);
  assert.equal(info.identity, 'browser-user');
  assert.match(info.sid, /^PA_\w+$/);
  assert.match(info.roomSid, /^RM_\w+$/);
  assert.deepEqual(info.remotes, ['node-peer']);
  const [seen] = await nodeSees;
  assert.equal(seen.name, 'Browser');

  // A JSON participant appears in the browser, and browser data reaches it.
  const json = await jsonParticipant(srv.wsUrl);
  json.send({ type: 'join_room', roomName: room, participant: { identity: 'json-peer', name: 'Jason' } });
  const joined = await json.next('room_joined');
  assert.deepEqual(joined.others.map((o) => o.identity).sort(), ['browser-user', 'node-peer']);
  await page.waitForFunction(() => window.events.includes('joined:json-peer'), null, { timeout: WAIT_MS });
  await page.evaluate(() => window.room.localParticipant.publishData(new TextEncoder().encode('from the browser'), { reliable: true, topic: 'web' }));
  const data = await json.next('data_received');
  assert.equal(data.from, 'browser-user');
  assert.equal(data.payload, 'from the browser');
  assert.equal(data.topic, 'web');
  json.send({ type: 'send_data', payload: 'to the browser', topic: 'json' });
  await page.waitForFunction(() => window.events.includes('data:json-peer:json:to the browser'), null, { timeout: WAIT_MS });

  // Publishing the fake microphone renegotiates (add_track, then an offer
  // whose answer must echo its id) and announces the track to rtc-node.
  const published = waitEvent(node, RoomEvent.TrackPublished, (_pub, p) => p.identity === 'browser-user');
  await page.evaluate(() => window.room.localParticipant.setMicrophoneEnabled(true));
  const [pub] = await published;
  assert.match(pub.sid, /^TR_\w+$/);

  // Leaving is seen by the others.
  const left = waitEvent(node, RoomEvent.ParticipantDisconnected, (p) => p.identity === 'browser-user');
  await page.evaluate(() => window.room.disconnect());
  await left;
  const gone = await json.next('participant_disconnected', (m) => m.participant.identity === 'browser-user');
  assert.equal(gone.participant.identity, 'browser-user');
  await json.close();
  await page.close();
});
