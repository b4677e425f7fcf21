/**
 * Test helper: runs the kernel media driver in the namespace it is started in (the test starts it
 * with `ip netns exec <fw> node --import tsx ...`) and answers JSON-line commands on stdin:
 *
 *   {"op":"open","pinholes":[...]}  {"op":"close","ids":[...]}  {"op":"counters","ids":[...]}
 *   {"op":"reconcile","live":[...]} {"op":"bench","iterations":N} {"op":"list"}
 *
 * Each answer is one line `{"ok":true,"result":...}` or `{"ok":false,"error":"..."}`. The first line
 * is `{"ready":true}` or `{"ready":false,"reason":"..."}` (from probeNftables).
 *
 *   node --conditions=@sipwall/source --import tsx agent/test/media/nftables-runner.ts <portMin> <portMax> <addr>...
 */
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { probeNftables } from '../../src/media/drivers/nftables.js';
import type { PinholeSpec } from '../../src/media/types.js';

const [minArg, maxArg, ...addresses] = process.argv.slice(2);
const probe = probeNftables({
  portMin: Number(minArg),
  portMax: Number(maxArg),
  ...(addresses.length > 0 ? { addresses } : {}),
  onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
});
const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
if (!probe.ok) {
  say({ ready: false, reason: probe.reason });
  process.exit(0);
}
const driver = probe.driver;
say({ ready: true });

type Command =
  | { op: 'open'; pinholes: PinholeSpec[] }
  | { op: 'close'; ids: string[] }
  | { op: 'counters'; ids: string[] }
  | { op: 'reconcile'; live: string[] }
  | { op: 'bench'; iterations: number }
  | { op: 'held' }
  | { op: 'exit' };

/** open + close of one call's two flows (RTP, RTCP), `iterations` times: latencies in µs. */
async function bench(iterations: number) {
  const times: number[] = [];
  const openTimes: number[] = [];
  const closeTimes: number[] = [];
  for (let i = 0; i < Math.min(iterations, 5000) + 50; i++) {
    const port = 31000 + (i % 400) * 2;
    const flow = (k: number): PinholeSpec => ({
      id: `bench-${i}/0/${k === 0 ? 'rtp' : 'rtcp'}`,
      a: {
        local: { address: '192.168.77.1', port: port + k },
        peer: { address: '192.168.77.10', port: 6000 + k },
      },
      b: {
        local: { address: '203.0.113.1', port: port + k },
        peer: { address: '203.0.113.10', port: 7000 + k },
      },
      timeoutSec: 60,
    });
    const ids = [flow(0).id, flow(1).id];
    const t0 = performance.now();
    await driver.open([flow(0), flow(1)]);
    const t1 = performance.now();
    await driver.close(ids);
    const t2 = performance.now();
    if (i < 50) continue; // warm-up (JIT, first netlink dumps)
    openTimes.push((t1 - t0) * 1000);
    closeTimes.push((t2 - t1) * 1000);
    times.push((t2 - t0) * 1000);
  }
  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0);
  };
  return {
    iterations: times.length,
    openCloseUs: { p50: pct(times, 50), p99: pct(times, 99), max: pct(times, 100) },
    openUs: { p50: pct(openTimes, 50), p99: pct(openTimes, 99) },
    closeUs: { p50: pct(closeTimes, 50), p99: pct(closeTimes, 99) },
  };
}

async function handle(c: Command): Promise<unknown> {
  switch (c.op) {
    case 'open':
      return driver.open(c.pinholes);
    case 'close':
      return driver.close(c.ids);
    case 'counters':
      return Object.fromEntries(await driver.counters(c.ids));
    case 'reconcile':
      return driver.reconcile(new Set(c.live));
    case 'bench':
      return bench(c.iterations);
    case 'held':
      return driver.openPinholes();
    case 'exit':
      await driver.dispose();
      process.exit(0);
  }
}

let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  queue = queue.then(async () => {
    try {
      const result = await handle(JSON.parse(line) as Command);
      say({ ok: true, result: result ?? null });
    } catch (e) {
      say({ ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  });
});
