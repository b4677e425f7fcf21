import { type FileHandle, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentError } from '../errors.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Binding } from './binding.js';
import { encodeChange, type JournalChange, type ReplayStats, replayJournal } from './journal-record.js';

/** Reading or writing the bindings journal failed (disk full, permissions…). */
export class LocationStoreError extends AgentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AGENT_ERR_LOCATION_STORE', message, options);
  }
}

export interface JournalOptions {
  /** Directory for `bindings.jsonl` (the agent's `stateDir`). */
  readonly dir: string;
  readonly clock: Clock;
  /**
   * Group commit: appended lines are written and fdatasync'ed together at most this long after
   * the first of them. Larger values trade latency of a REGISTER's 200 (when the shell awaits
   * `flush()`) for fewer syncs under load. Default 20 ms.
   */
  readonly groupCommitMs?: number;
  /**
   * Told when a background group commit fails after succeeding before (memory stays
   * authoritative; the next commit rewrites the whole state). Not repeated while it keeps failing.
   */
  readonly onWriteError?: (error: unknown) => void;
  /**
   * `whenDurable` writes start at most this often (one write + fdatasync each, for everyone
   * waiting): bounds the fsync rate under load at the cost of up to this much extra latency for
   * a 200. Default 5 ms (≤ 200 fdatasync/s).
   */
  readonly minCommitIntervalMs?: number;
  /** Also flush as soon as this many bytes are pending. Default 256 KiB. */
  readonly maxPendingBytes?: number;
  /** Compact when lines written since the last compaction exceed `compactFactor × live bindings`. Default 4. */
  readonly compactFactor?: number;
  /** …and exceed this floor, so a small store is not rewritten constantly. Default 10,000. */
  readonly compactMinLines?: number;
}

export const JOURNAL_FILE = 'bindings.jsonl';

/**
 * The durable side of the location store: an append-only JSON-lines log of change sets, made
 * durable in groups, and compacted by writing the live set to a temp file, fsyncing it and
 * renaming it over the log (then fsyncing the directory), so a crash at any point leaves either
 * the old or the new file complete.
 */
export class BindingJournal {
  private fh: FileHandle | undefined;
  private pending: string[] = [];
  private pendingBytes = 0;
  private linesSinceCompaction = 0;
  /** Set after a failed write: the next flush rewrites the full state instead of appending. */
  private needsRewrite = false;
  private timer: TimerHandle | undefined;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  /** Callers of `whenDurable` not yet covered by a write. */
  private waiters: ((error?: unknown) => void)[] = [];
  /** A `whenDurable` write is queued or in flight. */
  private kicked = false;
  private lastCommitAt = Number.NEGATIVE_INFINITY;
  private readonly minCommitIntervalMs: number;
  /** The last background commit failed (its error was reported). */
  private failing = false;
  private readonly path: string;
  private readonly groupCommitMs: number;
  private readonly maxPendingBytes: number;
  private readonly compactFactor: number;
  private readonly compactMinLines: number;

  private constructor(
    private readonly opts: JournalOptions,
    private readonly snapshot: () => Iterable<Binding>,
    private readonly liveCount: () => number,
  ) {
    this.path = join(opts.dir, JOURNAL_FILE);
    this.groupCommitMs = opts.groupCommitMs ?? 20;
    this.minCommitIntervalMs = opts.minCommitIntervalMs ?? 5;
    this.maxPendingBytes = opts.maxPendingBytes ?? 256 * 1024;
    this.compactFactor = opts.compactFactor ?? 4;
    this.compactMinLines = opts.compactMinLines ?? 10_000;
  }

  /**
   * Reads the journal (a missing file is an empty store; a torn last line or corrupt lines are
   * skipped, never thrown), then rewrites it compacted so new appends never follow a torn line.
   * Throws {@link LocationStoreError} only for I/O failures.
   */
  static async open(
    opts: JournalOptions,
    snapshot: () => Iterable<Binding>,
    liveCount: () => number,
    load: (bindings: Iterable<Binding>) => void,
  ): Promise<{ journal: BindingJournal; stats: ReplayStats }> {
    const journal = new BindingJournal(opts, snapshot, liveCount);
    let bytes: Buffer;
    try {
      await mkdir(opts.dir, { recursive: true });
      bytes = await readFile(journal.path).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return Buffer.alloc(0);
        throw e;
      });
    } catch (e) {
      throw new LocationStoreError(`cannot read ${journal.path}`, { cause: e });
    }
    const { bindings, stats } = replayJournal(bytes, opts.clock.now());
    load(
      (function* () {
        for (const m of bindings.values()) yield* m.values();
      })(),
    );
    await journal.compact();
    return { journal, stats };
  }

  /** Queues one change set; it is written by the next group commit. */
  append(change: JournalChange): void {
    if (this.closed) throw new Error('journal is closed');
    const line = encodeChange(change);
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= this.maxPendingBytes) this.backgroundFlush();
    else if (this.timer === undefined) {
      this.timer = this.opts.clock.setTimeout(() => {
        this.timer = undefined;
        this.backgroundFlush();
      }, this.groupCommitMs);
    }
  }

  /**
   * Calls `done` once every change appended so far is on disk (or the write failed: then with
   * the error; memory stays authoritative). Cheaper than awaiting `flush()` per change: no
   * promise per caller; all callers waiting while a write is in flight share the next write.
   */
  whenDurable(done: (error?: unknown) => void): void {
    this.waiters.push(done);
    this.kick();
  }

  private kick(): void {
    if (this.kicked) return;
    this.kicked = true;
    const wait = this.lastCommitAt + this.minCommitIntervalMs - this.opts.clock.now();
    if (wait > 0 && this.minCommitIntervalMs > 0) {
      this.opts.clock.setTimeout(() => this.commitForWaiters(), wait);
      return;
    }
    this.commitForWaiters();
  }

  private commitForWaiters(): void {
    this.lastCommitAt = this.opts.clock.now();
    const next = () => {
      this.kicked = false;
      if (this.waiters.length > 0) this.kick();
    };
    this.flush().then(
      () => {
        this.failing = false;
        next();
      },
      (e: unknown) => {
        if (!this.failing) this.opts.onWriteError?.(e);
        this.failing = true;
        next();
      },
    );
  }

  /** A group commit nobody awaits: failures are reported once per failing spell. */
  private backgroundFlush(): void {
    this.flush().then(
      () => {
        this.failing = false;
      },
      (e: unknown) => {
        if (!this.failing) this.opts.onWriteError?.(e);
        this.failing = true;
      },
    );
  }

  /** Resolves once every change appended so far is on disk (one write + one fdatasync for all). */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      this.opts.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    const run = this.chain.then(() => this.writePending());
    this.chain = run.catch(() => {});
    return run;
  }

  /** Flushes and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush().catch(() => {});
    this.closed = true;
    await this.chain;
    await this.fh?.close().catch(() => {});
    this.fh = undefined;
  }

  private async writePending(): Promise<void> {
    const waiters = this.waiters;
    this.waiters = [];
    if (this.needsRewrite) {
      this.pending = [];
      this.pendingBytes = 0;
      try {
        await this.compact();
      } catch (e) {
        settle(waiters, e);
        throw e;
      }
      settle(waiters, undefined);
      return;
    }
    if (this.pending.length === 0) {
      settle(waiters, undefined);
      return;
    }
    const data = this.pending.join('');
    const count = this.pending.length;
    this.pending = [];
    this.pendingBytes = 0;
    try {
      if (this.fh === undefined) this.fh = await open(this.path, 'a');
      await this.fh.appendFile(data);
      await this.fh.datasync();
    } catch (e) {
      // Memory stays authoritative; the next flush rewrites the whole state.
      this.needsRewrite = true;
      const error = new LocationStoreError(`cannot append to ${this.path}`, { cause: e });
      settle(waiters, error);
      throw error;
    }
    settle(waiters, undefined);
    this.linesSinceCompaction += count;
    const threshold = Math.max(this.compactMinLines, this.compactFactor * this.liveCount());
    if (this.linesSinceCompaction > threshold) await this.compact();
  }

  /** Rewrites the journal as the live set: temp file → fsync → rename → fsync directory. */
  private async compact(): Promise<void> {
    const tmp = `${this.path}.tmp`;
    try {
      await this.fh?.close();
      this.fh = undefined;
      const out = await open(tmp, 'w');
      try {
        const batch: Binding[] = [];
        let buffered = '';
        for (const b of this.snapshot()) {
          batch.push(b);
          if (batch.length === 256) {
            buffered += encodeChange({ upserts: batch, removals: [] });
            batch.length = 0;
          }
          if (buffered.length >= 1 << 20) {
            await out.appendFile(buffered);
            buffered = '';
          }
        }
        if (batch.length > 0) buffered += encodeChange({ upserts: batch, removals: [] });
        if (buffered.length > 0) await out.appendFile(buffered);
        await out.sync();
      } finally {
        await out.close();
      }
      await rename(tmp, this.path);
      const dir = await open(this.opts.dir, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
      this.linesSinceCompaction = 0;
      this.needsRewrite = false;
    } catch (e) {
      this.needsRewrite = true;
      await rm(tmp, { force: true }).catch(() => {});
      throw new LocationStoreError(`cannot compact ${this.path}`, { cause: e });
    }
  }
}

/** Tells every waiter; one that throws does not stop the others. */
function settle(waiters: readonly ((error?: unknown) => void)[], error: unknown): void {
  for (const w of waiters) {
    try {
      w(error);
    } catch {
      // A waiter's own bug; it must not break the journal or the other waiters.
    }
  }
}
