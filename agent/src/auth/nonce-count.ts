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

/**
 * Remembers the highest nonce-count accepted per nonce (RFC 7616 §3.4, RFC 2617 §3.2.2:
 * a server that sees the same nc twice for one nonce is seeing a replay).
 *
 * Memory is bounded (`maxEntries`, LRU by use). Forgetting a nonce early would reopen the
 * replay window for it, so the tracker keeps a low-water mark: the newest issue time of any
 * nonce evicted for capacity. An unknown nonce issued at or before that mark is answered
 * `forgotten` (→ the caller asks for a fresh nonce with `stale=true`) instead of `fresh`.
 * Nonces dropped because they aged out need no mark: the nonce check calls them stale.
 */
export class NonceCountTracker {
  private readonly entries = new Map<string, Entry>();
  private evictedUpTo = Number.NEGATIVE_INFINITY;

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
    if (entry === undefined) return issuedAt <= this.evictedUpTo ? 'forgotten' : 'fresh';
    return nc > entry.highestNc ? 'fresh' : 'replayed';
  }

  /** Records an accepted `nc` (call only after the response verified, so junk cannot poison it). */
  accept(nonce: string, nc: number, issuedAt: number, now: number): void {
    const entry = this.entries.get(nonce);
    if (entry !== undefined) this.entries.delete(nonce);
    // Detached: the nonce is cut from the request's text, which must not live as long as this entry.
    this.entries.set(detachString(nonce), { highestNc: Math.max(nc, entry?.highestNc ?? 0), issuedAt });
    // Cheap amortised trim: aged-out entries at the LRU end go first.
    for (const [key, e] of this.entries) {
      if (now - e.issuedAt <= this.opts.maxAgeMs) break;
      this.entries.delete(key);
    }
    this.enforceCap();
  }

  /** Full sweep of aged-out nonces (O(entries); for a periodic timer). */
  prune(now: number): void {
    for (const [nonce, e] of this.entries) {
      if (now - e.issuedAt > this.opts.maxAgeMs) this.entries.delete(nonce);
    }
    this.enforceCap();
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
