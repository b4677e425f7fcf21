import { renameSync, writeSync } from 'node:fs';
import { chmod, type FileHandle, mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentError } from '../errors.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { runBeforeNextSend } from '../util/send-barrier.js';
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
   * Appended lines reach the file within the turn, before anything is sent (see the class
   * comment); fdatasync follows in the background at most this long after the first unsynced
   * line, for power loss. Default 20 ms.
   */
  readonly groupCommitMs?: number;
  /**
   * Told when a write or background sync fails after succeeding before (memory stays
   * authoritative; the next compaction rewrites the whole state). Not repeated while it keeps failing.
   */
  readonly onWriteError?: (error: unknown) => void;
  /** Compact when lines written since the last compaction exceed `compactFactor × live bindings`. Default 4. */
  readonly compactFactor?: number;
  /** …and exceed this floor, so a small store is not rewritten constantly. Default 10,000. */
  readonly compactMinLines?: number;
}

export const JOURNAL_FILE = 'bindings.jsonl';
/** The journal is readable by the agent's user only (it becomes the journal by rename). */
const JOURNAL_MODE = 0o600;

/**
 * The durable side of the location store: an append-only JSON-lines log of change sets, and
 * compaction by writing the live set to a temp file, fsyncing it and renaming it over the log
 * (then fsyncing the directory), so a crash at any point leaves either the old or the new file
 * complete.
 *
 * Durability, in two steps:
 * - `append` queues the line; the turn's lines go into the page cache with one synchronous
 *   `write(2)` before the first message the agent sends afterwards (`util/send-barrier.ts`: every
 *   transport calls it) or at the end of the turn. So once a REGISTER's 200 is on the wire its
 *   binding survives a crash, `kill -9` or restart of the agent (the kernel owns it), and the
 *   registrar answers in the same turn. A single write of whole lines cannot be torn by the
 *   process dying.
 * - fdatasync runs in the background, at most `groupCommitMs` after the first unsynced line: a
 *   power loss or kernel crash can lose at most that window. `whenDurable` / `flush` wait for it.
 *
 * Waiting for fdatasync before every 200 (what this did before) cost more than the sync itself:
 * each REGISTER's parsed request, transaction and answer then outlived an event-loop turn, and
 * V8 promoted ~7 KB per registration to the old generation (9 MB per scavenge at 4,500 reg/s
 * against 1.6 MB when answering in the same turn), about 17 % of the agent's CPU
 * (bench/register/RESULTS.md, 2026-12-01).
 */
export class BindingJournal {
  /** The log being appended to; during a compaction still the old file. */
  private file: FileHandle | undefined;
  private linesSinceCompaction = 0;
  /** Set after a failed write: nothing more is appended until a compaction rewrote the full state. */
  private needsRewrite = false;
  /** Lines appended while a compaction runs: they go to the old file and, at the swap, to the new one. */
  private duringCompaction: string[] | undefined;
  /** Lines written since the last fdatasync started. */
  private unsynced = false;
  /** Lines of this turn not written yet: written before the next send or at the end of the turn. */
  private unwritten: string[] = [];
  private writeQueued = false;
  private timer: TimerHandle | undefined;
  /** Syncs and compactions, one at a time (a compaction swaps the file under a sync otherwise). */
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  /** Callers of `whenDurable` not yet covered by a sync. */
  private waiters: ((error?: unknown) => void)[] = [];
  /** The last write, sync or compaction failed (its error was reported). */
  private failing = false;
  private compactionQueued = false;
  private readonly path: string;
  private readonly groupCommitMs: number;
  private readonly compactFactor: number;
  private readonly compactMinLines: number;

  private constructor(
    private readonly opts: JournalOptions,
    private readonly snapshot: () => Iterable<Binding>,
    private readonly liveCount: () => number,
  ) {
    this.path = join(opts.dir, JOURNAL_FILE);
    this.groupCommitMs = opts.groupCommitMs ?? 20;
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
      // Owner only: the journal holds every phone's contact and address (STATE_DIR_MODE in sync/).
      await mkdir(opts.dir, { recursive: true, mode: 0o700 });
      await chmod(opts.dir, 0o700).catch(() => {}); // best effort: a directory we do not own stays as it is
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

  /** Queues one change set for this turn's write (see the class comment); fdatasync follows in the background. */
  append(change: JournalChange): void {
    if (this.closed) throw new Error('journal is closed');
    const line = encodeChange(change);
    this.duringCompaction?.push(line);
    if (!this.needsRewrite) {
      this.unwritten.push(line);
      if (!this.writeQueued) {
        this.writeQueued = true;
        runBeforeNextSend(this.writeUnwritten);
        setImmediate(this.writeUnwritten);
      }
    }
    this.linesSinceCompaction++;
    if (this.timer === undefined) {
      this.timer = this.opts.clock.setTimeout(() => {
        this.timer = undefined;
        this.background(() => this.sync());
      }, this.groupCommitMs);
    }
    if (this.duringCompaction === undefined && this.linesSinceCompaction > this.compactThreshold()) {
      this.queueCompaction();
    }
  }

  private compactThreshold(): number {
    return Math.max(this.compactMinLines, this.compactFactor * this.liveCount());
  }

  /**
   * The turn's lines in one write, before the first message this turn sends (a REGISTER's 200
   * among them) or at the end of the turn if nothing is sent. Idempotent: whichever comes first.
   */
  private readonly writeUnwritten = (): void => {
    if (!this.writeQueued) return;
    this.writeQueued = false;
    const lines = this.unwritten;
    this.unwritten = [];
    this.write(lines.length === 1 ? lines[0]! : lines.join(''));
  };

  private write(line: string): void {
    if (this.needsRewrite || this.file === undefined) return;
    try {
      writeWhole(this.file.fd, line);
      this.unsynced = true;
    } catch (e) {
      this.needsRewrite = true;
      this.reportFailure(new LocationStoreError(`cannot append to ${this.path}`, { cause: e }));
      this.queueCompaction();
    }
  }

  /**
   * Calls `done` once every change appended so far is fdatasync'ed (or that failed: then with
   * the error; memory stays authoritative). All callers waiting together share one sync.
   */
  whenDurable(done: (error?: unknown) => void): void {
    this.waiters.push(done);
    this.background(() => this.sync());
  }

  /** Resolves once every change appended so far is fdatasync'ed; rejects if that failed. */
  flush(): Promise<void> {
    const run = this.chain.then(() => this.sync());
    this.chain = run.catch(() => {});
    return run;
  }

  /** Syncs and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush().catch(() => {});
    this.closed = true;
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await this.chain;
    await this.file?.close().catch(() => {});
    this.file = undefined;
  }

  /** Runs `step` after what is queued; a failure is reported once per failing spell. */
  private background(step: () => Promise<void>): void {
    const run = this.chain.then(step);
    this.chain = run.then(
      () => {
        this.failing = false;
      },
      (e: unknown) => this.reportFailure(e),
    );
  }

  private reportFailure(e: unknown): void {
    if (!this.failing) this.opts.onWriteError?.(e);
    this.failing = true;
  }

  private queueCompaction(): void {
    if (this.compactionQueued) return;
    this.compactionQueued = true;
    this.background(async () => {
      this.compactionQueued = false;
      await this.compact();
    });
  }

  /** fdatasync of everything written so far; then every waiter from before the sync is told. */
  private async sync(): Promise<void> {
    this.writeUnwritten();
    if (this.timer !== undefined) {
      this.opts.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    const waiters = this.waiters;
    this.waiters = [];
    if (this.needsRewrite) {
      try {
        await this.compact();
      } catch (e) {
        settle(waiters, e);
        throw e;
      }
      settle(waiters, undefined);
      return;
    }
    if (!this.unsynced || this.file === undefined) {
      settle(waiters, undefined);
      return;
    }
    this.unsynced = false;
    try {
      await this.file.datasync();
    } catch (e) {
      const error = new LocationStoreError(`cannot sync ${this.path}`, { cause: e });
      settle(waiters, error);
      throw error;
    }
    settle(waiters, undefined);
  }

  /**
   * Rewrites the journal as the live set: temp file → fsync → rename → fsync directory. Appends
   * keep going to the old file meanwhile (a crash before the rename keeps them there) and are
   * copied to the new file in the same synchronous step as the rename, so none is lost either way.
   */
  private async compact(): Promise<void> {
    const tmp = `${this.path}.tmp`;
    const lines: string[] = [];
    this.duringCompaction = lines;
    let out: FileHandle | undefined;
    try {
      out = await open(tmp, 'w', JOURNAL_MODE);
      await out.chmod(JOURNAL_MODE); // a temp file left by a crash keeps its old mode on 'w'
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
      // The swap, synchronous so no append can fall between the copy and the rename. Lines not
      // written yet go to the old file first (kept if the rename fails); all are in the snapshot
      // or in `lines`.
      this.writeUnwritten();
      const tail = lines.join('');
      if (tail.length > 0) writeWhole(out.fd, tail);
      renameSync(tmp, this.path);
      const old = this.file;
      this.file = out;
      out = undefined;
      this.duringCompaction = undefined;
      this.linesSinceCompaction = lines.length;
      this.needsRewrite = false;
      this.unsynced = tail.length > 0;
      await old?.close().catch(() => {});
      const dir = await open(this.opts.dir, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch (e) {
      this.duringCompaction = undefined;
      await out?.close().catch(() => {});
      await rm(tmp, { force: true }).catch(() => {});
      throw new LocationStoreError(`cannot compact ${this.path}`, { cause: e });
    }
  }
}

/** One synchronous write of whole lines; a short write would leave a torn line for the next to glue onto, so it throws. */
function writeWhole(fd: number, text: string): void {
  const n = writeSync(fd, text);
  if (n !== Buffer.byteLength(text)) throw new Error(`short write (${n} bytes)`);
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
