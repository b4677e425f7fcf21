import type { Logger } from 'pino';
import type { Clock, TimerHandle } from './clock.js';

/**
 * Gives memory back after a load peak. A storm of requests grows the V8 heap by hundreds of MB of
 * short-lived objects (completed transactions, parsed messages); once the storm ends the agent is
 * nearly idle, so V8 allocates too little to start a collection and the heap — and the RSS —
 * stay at their peak for as long as the quiet lasts (bench/overload: 176 MB of heap "in use" 45 s
 * after a 2× storm, 39 MB after one full collection; RSS 423 MB → 151 MB). This check runs every
 * `intervalMs`; when the event loop was mostly idle over the last `idleChecks` intervals (long
 * enough for the storm's transactions to end: Timer J is 32 s) and the heap has grown by more than
 * `growthBytes` since the last collection it asked for, it asks for a full one (which compacts and
 * returns pages), at most once per `minGapMs`. Under load it never runs: a full collection pauses
 * the loop for tens of ms, which only an idle agent can spare.
 */
export interface MemoryReclaimerSettings {
  readonly intervalMs: number;
  /** Event-loop utilization (0–1) over the interval below which the agent counts as idle. */
  readonly idleBelow: number;
  /** Consecutive idle intervals before a collection (what the peak left must have ended first). */
  readonly idleChecks: number;
  /** Heap growth (reserved bytes) since the last reclaim that makes one worth it. */
  readonly growthBytes: number;
  readonly minGapMs: number;
}

export const DEFAULT_MEMORY_RECLAIMER_SETTINGS: MemoryReclaimerSettings = {
  intervalMs: 10_000,
  // A forced collection is atomic (no concurrent marking): at 10 % of the loop (~200 calls/s)
  // the live heap is tens of MB and the pause tens of ms; busier agents leave it to V8.
  idleBelow: 0.1,
  idleChecks: 3,
  growthBytes: 48 * 1024 * 1024,
  minGapMs: 60_000,
};

export interface HeapSize {
  /** V8 heap reserved (what the RSS follows). */
  readonly heapTotal: number;
  readonly heapUsed: number;
}

export interface MemoryReclaimerDeps {
  readonly clock: Clock;
  readonly heap: () => HeapSize;
  /** Event-loop utilization (0–1) since the previous call. */
  readonly busy: () => number;
  /** A full, compacting collection (`globalThis.gc` under `--expose-gc`). */
  readonly gc: () => void;
  readonly logger: Logger;
  readonly settings?: MemoryReclaimerSettings;
}

/** One reclaim, for the log and the tests. */
export interface Reclaim {
  readonly before: HeapSize;
  readonly after: HeapSize;
}

export class MemoryReclaimer {
  private readonly settings: MemoryReclaimerSettings;
  private timer: TimerHandle | undefined;
  /** Heap reserved after the last reclaim (or at start): growth is measured from it. */
  private floor: number;
  private lastAt = Number.NEGATIVE_INFINITY;
  private idleRun = 0;
  private stopped = false;

  constructor(private readonly deps: MemoryReclaimerDeps) {
    this.settings = deps.settings ?? DEFAULT_MEMORY_RECLAIMER_SETTINGS;
    this.floor = deps.heap().heapTotal;
  }

  start(): void {
    this.deps.busy(); // start the utilization window now
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One check (the timer's job; public for tests). Returns the reclaim it did, if any. */
  check(): Reclaim | undefined {
    const busy = this.deps.busy();
    const before = this.deps.heap();
    // The heap shrank on its own (V8 collected): growth counts from there.
    if (before.heapTotal < this.floor) this.floor = before.heapTotal;
    const now = this.deps.clock.now();
    this.idleRun = busy < this.settings.idleBelow ? this.idleRun + 1 : 0;
    if (this.idleRun < this.settings.idleChecks) return undefined;
    if (before.heapTotal - this.floor < this.settings.growthBytes) return undefined;
    if (now - this.lastAt < this.settings.minGapMs) return undefined;
    this.deps.gc();
    const after = this.deps.heap();
    this.floor = after.heapTotal;
    this.lastAt = now;
    this.deps.logger.info(
      {
        event: 'memory-reclaimed',
        heapTotalBeforeMb: mb(before.heapTotal),
        heapTotalAfterMb: mb(after.heapTotal),
        heapUsedAfterMb: mb(after.heapUsed),
      },
      'heap grown by a load peak returned after it ended',
    );
    return { before, after };
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = this.deps.clock.setTimeout(() => {
      this.check();
      this.arm();
    }, this.settings.intervalMs);
  }
}

const mb = (bytes: number) => Math.round(bytes / 1048576);
