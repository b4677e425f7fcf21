import type { Clock, TimerHandle } from '../util/clock.js';
import { type Binding, compactBinding } from './binding.js';
import { BindingJournal, type JournalOptions } from './binding-journal.js';
import type { ReplayStats } from './journal-record.js';

/** A change set: what one REGISTER (or admin action) does, applied at once (RFC 3261 §10.3 step 8). */
export interface LocationChange {
  readonly upserts: readonly Binding[];
  readonly removals: ReadonlyArray<{ readonly aor: string; readonly key: string }>;
}

/**
 * The location service (RFC 3261 §10, §16.5): what the proxy asks to route to a local user,
 * and what the registrar changes.
 */
export interface LocationStore {
  /** Bindings of an AOR (canonical), O(1). May include bindings past expiry until `expire` runs. */
  lookup(aor: string): readonly Binding[];
  /** Applies upserts and removals together; returns the bindings actually removed. */
  apply(change: LocationChange): readonly Binding[];
  upsert(binding: Binding): void;
  remove(aor: string, key: string): Binding | undefined;
  /** Removes and returns every binding with `expiresAt <= now` (for `expired` events). */
  expire(now: number): readonly Binding[];
  /** Every binding (admin view). */
  all(): Iterable<Binding>;
  count(): number;
  /**
   * Resolves once every change applied so far is fdatasync'ed (immediately without persistence).
   * Not needed to survive an agent crash: a journaled `apply` reaches the file within its turn,
   * before anything is sent.
   */
  flush(): Promise<void>;
  /**
   * Calls `done` once every change applied so far is fdatasync'ed (at once without persistence),
   * or with the error if that failed (memory stays authoritative). The callback form of
   * `flush()`: no promise per caller, one sync for all who wait together.
   */
  whenDurable(done: (error?: unknown) => void): void;
  close(): Promise<void>;
}

/** Min-heap of bindings by `expiresAt`, with lazy deletion (entries are checked against the map). */
class ExpiryHeap {
  private readonly items: Binding[] = [];

  get size(): number {
    return this.items.length;
  }

  push(b: Binding): void {
    const a = this.items;
    a.push(b);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.expiresAt <= a[i]!.expiresAt) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  peek(): Binding | undefined {
    return this.items[0];
  }

  pop(): Binding | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.expiresAt < a[m]!.expiresAt) m = l;
        if (r < a.length && a[r]!.expiresAt < a[m]!.expiresAt) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }

  rebuild(live: Iterable<Binding>): void {
    this.items.length = 0;
    for (const b of live) this.push(b);
  }
}

const NO_BINDINGS: readonly Binding[] = Object.freeze([]);

export interface MemoryLocationStoreOptions {
  /** Persist to a journal in this directory; omit for a memory-only store. */
  readonly journal?: Omit<JournalOptions, 'clock'>;
}

/**
 * The in-memory location store. Per AOR it keeps a small frozen array (copy on write), so
 * `lookup` hands out a stable snapshot without copying. With a journal, every `apply` is one
 * journal line, in the file before the agent sends anything and fdatasync'ed by group commit
 * (see `BindingJournal`); expirations are
 * not journaled, since reload drops bindings whose absolute expiry has passed.
 */
export class MemoryLocationStore implements LocationStore {
  private readonly byAor = new Map<string, readonly Binding[]>();
  private readonly heap = new ExpiryHeap();
  private total = 0;
  private journal: BindingJournal | undefined;

  private constructor() {}

  /** A memory-only store. */
  static inMemory(): MemoryLocationStore {
    return new MemoryLocationStore();
  }

  /** Opens (and replays) a journaled store. Tolerates torn and corrupt journals; throws only on I/O errors. */
  static async open(
    clock: Clock,
    opts: Required<MemoryLocationStoreOptions>,
  ): Promise<{ store: MemoryLocationStore; stats: ReplayStats }> {
    const store = new MemoryLocationStore();
    const { journal, stats } = await BindingJournal.open(
      { ...opts.journal, clock },
      () => store.all(),
      () => store.count(),
      (bindings) => {
        for (const b of bindings) store.put(b);
      },
    );
    store.journal = journal;
    return { store, stats };
  }

  lookup(aor: string): readonly Binding[] {
    return this.byAor.get(aor) ?? NO_BINDINGS;
  }

  apply(change: LocationChange): readonly Binding[] {
    const removed: Binding[] = [];
    for (const r of change.removals) {
      const b = this.take(r.aor, r.key);
      if (b !== undefined) removed.push(b);
    }
    for (const b of change.upserts) this.put(b);
    if (this.journal !== undefined && (change.upserts.length > 0 || removed.length > 0)) {
      this.journal.append({
        upserts: change.upserts,
        removals: removed.map((b) => ({ aor: b.aor, key: b.key })),
      });
    }
    return removed;
  }

  upsert(binding: Binding): void {
    this.apply({ upserts: [binding], removals: [] });
  }

  remove(aor: string, key: string): Binding | undefined {
    return this.apply({ upserts: [], removals: [{ aor, key }] })[0];
  }

  expire(now: number): readonly Binding[] {
    const out: Binding[] = [];
    // Bounded: each iteration pops one heap entry.
    for (let top = this.heap.peek(); top !== undefined && top.expiresAt <= now; top = this.heap.peek()) {
      this.heap.pop();
      const list = this.byAor.get(top.aor);
      // Lazy deletion: only the binding object still stored counts (a refresh replaced the others).
      if (list?.includes(top) === true) {
        this.take(top.aor, top.key);
        out.push(top);
      }
    }
    return out;
  }

  *all(): Iterable<Binding> {
    for (const list of this.byAor.values()) yield* list;
  }

  count(): number {
    return this.total;
  }

  flush(): Promise<void> {
    return this.journal?.flush() ?? Promise.resolve();
  }

  whenDurable(done: (error?: unknown) => void): void {
    if (this.journal === undefined) done();
    else this.journal.whenDurable(done);
  }

  async close(): Promise<void> {
    await this.journal?.close();
  }

  private put(incoming: Binding): void {
    const list = this.byAor.get(incoming.aor) ?? NO_BINDINGS;
    // Stored compactly: own strings (not slices of a parsed message), one shared AOR string.
    const b = compactBinding(incoming, list[0]?.aor);
    const i = list.findIndex((x) => x.key === b.key);
    const next = i < 0 ? [...list, b] : list.map((x, j) => (j === i ? b : x));
    if (i < 0) this.total++;
    this.byAor.set(b.aor, Object.freeze(next));
    this.heap.push(b);
    // Stale heap entries pile up with refreshes; rebuild when they dominate.
    if (this.heap.size > 2 * this.total + 1024) this.heap.rebuild(this.all());
  }

  private take(aor: string, key: string): Binding | undefined {
    const list = this.byAor.get(aor);
    const b = list?.find((x) => x.key === key);
    if (list === undefined || b === undefined) return undefined;
    const next = list.filter((x) => x !== b);
    if (next.length === 0) this.byAor.delete(aor);
    else this.byAor.set(aor, Object.freeze(next));
    this.total--;
    return b;
  }
}

/**
 * Runs `store.expire` every `intervalMs` on the injected clock and hands expired bindings to
 * `onExpired` (which turns them into `expired` registration events).
 */
export function startExpirySweep(
  store: LocationStore,
  clock: Clock,
  intervalMs: number,
  onExpired: (expired: readonly Binding[]) => void,
): { stop(): void } {
  let handle: TimerHandle | undefined;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    const expired = store.expire(clock.now());
    if (expired.length > 0) onExpired(expired);
    handle = clock.setTimeout(tick, intervalMs);
  };
  handle = clock.setTimeout(tick, intervalMs);
  return {
    stop() {
      stopped = true;
      if (handle !== undefined) clock.clearTimeout(handle);
    },
  };
}
