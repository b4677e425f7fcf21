/**
 * Throttling of password guessing on `auth.signIn`, per source address and per account.
 *
 * Design (the reasoning is in control-plane/server/README.md, "Sign-in throttling"):
 * - Every attempt reserves a slot *before* the password is checked, synchronously, so the calls of
 *   one batched request (which tRPC runs concurrently) are counted one by one.
 * - Per source: at most `maxFailuresPerSource` failed attempts per sliding `windowMs`; then every
 *   attempt from that source is refused, whatever the account (source limits dominate).
 * - Per account: after `maxFailuresPerAccount` failures in the window the account is "under attack":
 *   attempts from sources with a failure in the window are refused, but a source that has not failed
 *   still gets its password checked. So an attacker cannot lock the real operator out, and each
 *   attacking address gets at most one guess per window at that account.
 * - A successful sign-in releases its own reservation and clears the account's failures; it never
 *   clears the source's failures (an attacker who knows one password must not earn more guesses).
 * - Memory is bounded: at most `maxTrackedKeys` sources and as many accounts; expired entries are
 *   swept first, then the oldest entry goes.
 */
export interface SignInThrottleOptions {
  windowMs: number;
  maxFailuresPerSource: number;
  maxFailuresPerAccount: number;
  maxTrackedKeys: number;
}

export const DEFAULT_SIGN_IN_THROTTLE: SignInThrottleOptions = {
  windowMs: 15 * 60 * 1000,
  maxFailuresPerSource: 10,
  maxFailuresPerAccount: 5,
  maxTrackedKeys: 50_000,
};

/** One admitted attempt: report its outcome exactly once. */
export interface SignInAttempt {
  succeeded(): void;
  failed(): void;
}

export type ThrottleDecision =
  | { allowed: true; attempt: SignInAttempt }
  | {
      allowed: false;
      scope: 'source' | 'account';
      retryAfterSec: number;
      /** True for the first refusal since this source or account became blocked (log/store it once). */
      firstRefusal: boolean;
    };

interface Entry {
  /** Times (ms) of failed or pending attempts inside the window, oldest first. */
  hits: number[];
  /** A refusal was already reported since the entry reached its limit. */
  refused: boolean;
}

class BoundedWindowMap {
  readonly #entries = new Map<string, Entry>();
  constructor(
    private readonly windowMs: number,
    private readonly maxKeys: number,
  ) {}

  /** The live entry for `key` (pruned to the window), or undefined. */
  peek(key: string, now: number): Entry | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    this.#prune(e, now);
    if (e.hits.length === 0) {
      this.#entries.delete(key);
      return undefined;
    }
    return e;
  }

  hit(key: string, now: number): void {
    let e = this.peek(key, now);
    if (e === undefined) {
      if (this.#entries.size >= this.maxKeys) this.#makeRoom(now);
      e = { hits: [], refused: false };
      this.#entries.set(key, e);
    }
    e.hits.push(now);
  }

  /** Removes one hit at `at` (a pending attempt that succeeded). */
  release(key: string, at: number): void {
    const e = this.#entries.get(key);
    if (e === undefined) return;
    const i = e.hits.lastIndexOf(at);
    if (i >= 0) e.hits.splice(i, 1);
    if (e.hits.length === 0) this.#entries.delete(key);
  }

  clear(key: string): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }

  #prune(e: Entry, now: number): void {
    const cutoff = now - this.windowMs;
    let drop = 0;
    while (drop < e.hits.length && e.hits[drop]! <= cutoff) drop++;
    if (drop > 0) e.hits.splice(0, drop);
  }

  #makeRoom(now: number): void {
    for (const [key, e] of this.#entries) {
      this.#prune(e, now);
      if (e.hits.length === 0) this.#entries.delete(key);
    }
    // Still full: drop the oldest inserted entries (Map keeps insertion order).
    for (const key of this.#entries.keys()) {
      if (this.#entries.size < this.maxKeys) break;
      this.#entries.delete(key);
    }
  }
}

/** In-memory sign-in throttle for one control-plane process; `now` is injected (ms). */
export class SignInThrottle {
  readonly #opts: SignInThrottleOptions;
  readonly #sources: BoundedWindowMap;
  readonly #accounts: BoundedWindowMap;

  constructor(
    private readonly now: () => number,
    options: Partial<SignInThrottleOptions> = {},
  ) {
    this.#opts = { ...DEFAULT_SIGN_IN_THROTTLE, ...options };
    this.#sources = new BoundedWindowMap(this.#opts.windowMs, this.#opts.maxTrackedKeys);
    this.#accounts = new BoundedWindowMap(this.#opts.windowMs, this.#opts.maxTrackedKeys);
  }

  /** Admits or refuses one attempt; an admitted attempt is counted as a failure until it succeeds. */
  begin(source: string, account: string): ThrottleDecision {
    const now = this.now();
    const { maxFailuresPerSource, maxFailuresPerAccount, windowMs } = this.#opts;
    const src = this.#sources.peek(source, now);
    const acc = this.#accounts.peek(account, now);
    const retryAfter = (e: Entry) => Math.max(1, Math.ceil((e.hits[0]! + windowMs - now) / 1000));
    const refuse = (scope: 'source' | 'account', e: Entry): ThrottleDecision => {
      const firstRefusal = !e.refused;
      e.refused = true;
      return { allowed: false, scope, retryAfterSec: retryAfter(e), firstRefusal };
    };
    if (src !== undefined && src.hits.length >= maxFailuresPerSource) return refuse('source', src);
    // Under attack, only a source without failures in the window gets its password checked.
    if (acc !== undefined && acc.hits.length >= maxFailuresPerAccount && src !== undefined)
      return refuse('account', acc);

    this.#sources.hit(source, now);
    this.#accounts.hit(account, now);
    let done = false;
    return {
      allowed: true,
      attempt: {
        succeeded: () => {
          if (done) return;
          done = true;
          this.#sources.release(source, now);
          this.#accounts.clear(account);
        },
        failed: () => {
          done = true;
        },
      },
    };
  }

  /** Tracked keys (tests and metrics). */
  tracked(): { sources: number; accounts: number } {
    return { sources: this.#sources.size, accounts: this.#accounts.size };
  }
}

/** The throttle key of a client address: IPv4 as is, IPv6 by its /64 (one host usually owns a /64). */
export function sourceKey(ip: string): string {
  if (!ip.includes(':')) return ip;
  const groups = expandIpv6(ip);
  return groups === null ? ip : `${groups.slice(0, 4).join(':')}::/64`;
}

function expandIpv6(ip: string): string[] | null {
  const bare = ip.split('%')[0]!;
  const [head, tail, ...rest] = bare.split('::');
  if (rest.length > 0) return null;
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  if (tail === undefined) return h.length === 8 ? h.map((g) => g.toLowerCase()) : null;
  const missing = 8 - h.length - t.length;
  if (missing < 0) return null;
  return [...h, ...Array<string>(missing).fill('0'), ...t].map((g) => g.toLowerCase());
}
