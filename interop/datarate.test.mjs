// Reliable data under load, short form of bench/datarate.mjs: 20 rtc-node
// participants in one room each send 10 numbered reliable packets a second
// for 5 s. Every receiver that stays connected gets every packet; one that
// is disconnected has a reason; the server counts no reliable packet as lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { runDataRate } from './bench/datarate.mjs';

test('reliable data at 20 × 10/s for 5 s: nothing lost among receivers that stay', async () => {
  const srv = await startServer();
  try {
    const r = await runDataRate(srv, { n: 20, rate: 10, seconds: 5, procs: 4, drainMs: 2000, maxDrainMs: 20_000 });
    assert.equal(r.receivers, 20);
    assert.ok(r.connected > 0, 'some receivers stayed connected');
    assert.equal(r.sendFailures, 0, 'publishData never failed');
    assert.ok(r.expected >= r.connected * 19 * 50, `expected ${r.expected} deliveries`);
    assert.deepEqual(r.gapped, [], `receivers with gaps (of ${r.expected} deliveries)`);
    assert.equal(r.missing, 0);
    for (const d of r.disconnected) assert.ok(d.disconnect, `${d.identity} was disconnected without a reason`);
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    const lost = /^livekit_mock_data_dropped_total\{kind="reliable"\} (\d+)/m.exec(metrics);
    assert.ok(lost, 'the reliable drop counter is exposed');
    if (r.disconnected.length === 0) assert.equal(Number(lost[1]), 0, 'no reliable packet counted as lost');
  } finally {
    await srv.stop();
  }
});
