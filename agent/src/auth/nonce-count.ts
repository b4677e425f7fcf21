import { detachString } from '../util/detach-string.js';

/** Outcome of presenting a nonce-count for a nonce. */
export type NonceCountCheck = 'fresh' | 'replayed' | 'forgotten';

export interface NonceCountTrackerOptions {
  /** Most nonces remembered at once; past it the least recently used is forgotten. */
  readonly maxEntries: number;
  /** Nonces older than this are dropped (they are stale anyway: use the nonce max age). */
  readonly maxAgeMs: number;
}

interface Entry {
  highestNc: number;
  issuedAt: number;
}

/** Aged-out entries are trimmed on every this many accepts (and on `prune`). */
const TRIM_EVERY = 256;

/**
 * Remembers the highest nonce-count accepted per nonce (RFC 7616 §3.4, RFC 2617 §3.2.2:
 * a server that sees the same nc twice for one nonce is seeing a replay).
 *
 * Entries are kept in first-acceptance order, which is issue order up to the few seconds
 * between a challenge and its answer, so the oldest are always at the front: trimming aged-out
 * nonces and evicting for capacity both take from there. Memory is bounded (`maxEntries`).
 * Forgetting a nonce early would reopen the replay window for it, so the tracker keeps a
 * low-water mark: the newest issue time of any nonce evicted for capacity. An unknown nonce
 * issued at or before that mark is answered `forgotten` (→ the caller asks for a fresh nonce
 * with `stale=true`) instead of `fresh`; so is a nonce still in use when it is evicted.
 * Nonces dropped because they aged out need no mark: the nonce check calls them stale.
 *
 * Built for a registrar at full speed: one map lookup per `check`, and `accept` of the nonce
 * just checked reuses that lookup (a map of 200,000 nonces costs cache misses per lookup).
 */
export class NonceCountTracker {
  private readonly entries = new Map<string, Entry>();
  private evictedUpTo = Number.NEGATIVE_INFINITY;
  private acceptsSinceTrim = 0;
  /** The nonce of the last `check` and what it found, for the `accept` that follows it. */
  private checkedNonce = '';
  private checkedEntry: Entry | undefined;

  constructor(private readonly opts: NonceCountTrackerOptions) {
    if (opts.maxEntries < 1) throw new Error('maxEntries must be at least 1');
  }

  /** Number of nonces remembered. */
  get size(): number {
    return this.entries.size;
  }

  /** Checks `nc` without recording it. */
  check(nonce: string, nc: number, issuedAt: number): NonceCountCheck {
    const entry = this.entries.get(nonce);
    this.checkedNonce = nonce;
    this.checkedEntry = entry;
    if (entry === undefined) return issuedAt <= this.evictedUpTo ? 'forgotten' : 'fresh';
    return nc > entry.highestNc ? 'fresh' : 'replayed';
  }

  /** Records an accepted `nc` (call only after the response verified, so junk cannot poison it). */
  accept(nonce: string, nc: number, issuedAt: number, now: number): void {
    const entry = nonce === this.checkedNonce ? this.checkedEntry : this.entries.get(nonce);
    this.checkedNonce = '';
    this.checkedEntry = undefined;
    if (entry !== undefined) {
      entry.highestNc = Math.max(nc, entry.highestNc);
    } else {
      // Detached: the nonce is cut from the request's text, which must not live as long as this entry.
      this.entries.set(detachString(nonce), { highestNc: nc, issuedAt });
      this.enforceCap();
    }
    if (++this.acceptsSinceTrim >= TRIM_EVERY) this.trimAged(now);
  }

  /** Full sweep of aged-out nonces (for a periodic timer). */
  prune(now: number): void {
    this.trimAged(now);
    this.enforceCap();
  }

  /** Drops aged-out nonces from the front, stopping at the first one still young. */
  private trimAged(now: number): void {
    this.acceptsSinceTrim = 0;
    for (const [nonce, e] of this.entries) {
      if (now - e.issuedAt <= this.opts.maxAgeMs) break;
      this.entries.delete(nonce);
    }
  }

  private enforceCap(): void {
    while (this.entries.size > this.opts.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      const e = this.entries.get(oldest.value)!;
      this.evictedUpTo = Math.max(this.evictedUpTo, e.issuedAt);
      this.entries.delete(oldest.value);
    }
  }
}
