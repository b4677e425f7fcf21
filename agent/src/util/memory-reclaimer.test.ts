import { spawnSync } from 'node:child_process';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { type HeapSize, MemoryReclaimer, type MemoryReclaimerSettings } from './memory-reclaimer.js';

const MB = 1024 * 1024;
const SETTINGS: MemoryReclaimerSettings = {
  intervalMs: 10_000,
  idleBelow: 0.2,
  idleChecks: 1,
  growthBytes: 96 * MB,
  minGapMs: 60_000,
};

/** A fake heap the test grows and a gc that shrinks it to what is live. */
function harness(start: HeapSize) {
  const clock = new ManualClock();
  let heap = start;
  let busy = 0;
  let live = start.heapUsed;
  const gcs: number[] = [];
  const reclaimer = new MemoryReclaimer({
    clock,
    heap: () => heap,
    busy: () => busy,
    gc: () => {
      gcs.push(clock.now());
      heap = { heapTotal: live + 8 * MB, heapUsed: live };
    },
    logger: pino({ level: 'silent' }),
    settings: SETTINGS,
  });
  return {
    clock,
    reclaimer,
    gcs,
    grow: (h: HeapSize) => {
      heap = h;
    },
    setBusy: (b: number) => {
      busy = b;
    },
    setLive: (bytes: number) => {
      live = bytes;
    },
  };
}

describe('MemoryReclaimer', () => {
  it('collects once the agent is idle after the heap grew past the threshold, and reports what it returned', () => {
    const h = harness({ heapTotal: 150 * MB, heapUsed: 30 * MB });
    h.setLive(35 * MB);
    h.grow({ heapTotal: 300 * MB, heapUsed: 180 * MB });
    h.setBusy(0.9); // the storm is still on: never during load
    expect(h.reclaimer.check()).toBeUndefined();
    h.setBusy(0.05);
    const r = h.reclaimer.check();
    expect(r?.before.heapTotal).toBe(300 * MB);
    expect(r?.after.heapTotal).toBe(43 * MB);
    expect(h.gcs).toHaveLength(1);
  });

  it('waits for idleChecks idle intervals in a row, counting again after a busy one', () => {
    const clock = new ManualClock();
    const busy = [0.1, 0.1, 0.5, 0.1, 0.1, 0.1];
    let gcs = 0;
    let reads = 0;
    const r = new MemoryReclaimer({
      clock,
      // 50 MB at start, 400 MB after the peak, 50 MB again after the collection
      heap: () => ({ heapTotal: reads++ === 0 || gcs > 0 ? 50 * MB : 400 * MB, heapUsed: 40 * MB }),
      busy: () => busy.shift() ?? 0,
      gc: () => {
        gcs++;
      },
      logger: pino({ level: 'silent' }),
      settings: { ...SETTINGS, idleChecks: 3 },
    });
    const results = [0, 1, 2, 3, 4, 5].map(() => r.check() !== undefined);
    expect(results).toEqual([false, false, false, false, false, true]);
    expect(gcs).toBe(1);
  });

  it('leaves a heap alone that grew less than the threshold', () => {
    const h = harness({ heapTotal: 150 * MB, heapUsed: 30 * MB });
    h.grow({ heapTotal: 240 * MB, heapUsed: 100 * MB });
    expect(h.reclaimer.check()).toBeUndefined();
    expect(h.gcs).toHaveLength(0);
  });

  it('counts growth from the heap after its last collection and waits minGapMs between two', () => {
    const h = harness({ heapTotal: 150 * MB, heapUsed: 30 * MB });
    h.setLive(30 * MB);
    h.grow({ heapTotal: 300 * MB, heapUsed: 200 * MB });
    expect(h.reclaimer.check()).toBeDefined(); // floor now 38 MB
    h.grow({ heapTotal: 140 * MB, heapUsed: 120 * MB }); // +102 MB from the floor
    h.clock.advance(30_000);
    expect(h.reclaimer.check()).toBeUndefined(); // too soon
    h.clock.advance(30_000);
    expect(h.reclaimer.check()).toBeDefined();
    expect(h.gcs).toEqual([0, 60_000]);
  });

  it('follows a heap that V8 shrank on its own', () => {
    const h = harness({ heapTotal: 200 * MB, heapUsed: 30 * MB });
    h.grow({ heapTotal: 50 * MB, heapUsed: 30 * MB });
    expect(h.reclaimer.check()).toBeUndefined();
    h.grow({ heapTotal: 160 * MB, heapUsed: 150 * MB }); // +110 MB from 50, though below the start
    expect(h.reclaimer.check()).toBeDefined();
  });

  it('checks on its timer until stopped', () => {
    const h = harness({ heapTotal: 100 * MB, heapUsed: 30 * MB });
    h.reclaimer.start();
    h.grow({ heapTotal: 400 * MB, heapUsed: 300 * MB });
    h.clock.advance(9_999);
    expect(h.gcs).toHaveLength(0);
    h.clock.advance(1);
    expect(h.gcs).toEqual([10_000]);
    h.reclaimer.stop();
    h.grow({ heapTotal: 400 * MB, heapUsed: 300 * MB });
    h.clock.advance(120_000);
    expect(h.gcs).toHaveLength(1);
  });

  it('returns real garbage to the system in a node process started with the agent flags', () => {
    // The real thing: a heap grown by short-lived objects, idle, one check → heapTotal shrinks.
    const script = `
      const { MemoryReclaimer } = await import(${JSON.stringify(new URL('./memory-reclaimer.ts', import.meta.url).href)});
      const { ManualClock } = await import(${JSON.stringify(new URL('./clock.ts', import.meta.url).href)});
      const silent = { info() {} };
      // The floor is the heap of this fresh process; then ~80 MB that stay live until the check,
      // so no collection V8 runs on its own meanwhile can shrink the heap below the floor.
      const r = new MemoryReclaimer({ clock: new ManualClock(), heap: () => process.memoryUsage(), busy: () => 0,
        gc: globalThis.gc, logger: silent, settings: { intervalMs: 1, idleBelow: 0.2, idleChecks: 1, growthBytes: 1, minGapMs: 0 } });
      let keep = [];
      for (let i = 0; i < 200; i++) keep.push(new Array(50000).fill(i));
      keep = null;
      const done = r.check();
      process.stdout.write(JSON.stringify({ reclaimed: done !== undefined, before: done?.before, after: done?.after }));
    `;
    const out = spawnSync(
      process.execPath,
      ['--expose-gc', '--max-semi-space-size=64', '--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(out.stderr).toBe('');
    const res = JSON.parse(out.stdout) as { reclaimed: boolean; before: HeapSize; after: HeapSize };
    expect(res.reclaimed).toBe(true);
    // ~100 MB of dead arrays before; what is left is the test's own code
    expect(res.before.heapUsed).toBeGreaterThan(50 * MB);
    expect(res.after.heapUsed).toBeLessThan(res.before.heapUsed / 4);
    expect(res.after.heapTotal).toBeLessThan(res.before.heapTotal);
  });
});
