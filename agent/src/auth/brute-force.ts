import type { SecurityEvent } from './security-event.js';

/** `policies.bruteForce`. */
export interface BruteForcePolicy {
  readonly maxFailures: number;
  readonly windowSec: number;
  readonly blockSec: number;
}

export interface BruteForceLimits {
  /** Most source addresses with failure counters; the least recently failing is forgotten first. */
  readonly maxSources: number;
  /** Most users with failure counters. */
  readonly maxUsers: number;
  /** Most blocked sources at once; past it the oldest block is lifted early. */
  readonly maxBlocked: number;
}

export const DEFAULT_BRUTE_FORCE_LIMITS: BruteForceLimits = {
  maxSources: 20_000,
  maxUsers: 20_000,
  maxBlocked: 50_000,
};

/**
 * A sliding-window counter in O(1) memory: counts for the current and previous fixed windows, the
 * previous one weighted by how much of it still overlaps the sliding window. Within one window it
 * is exact; across a boundary it can only over-estimate by the part of the previous window that
 * has already slid out, which makes blocking slightly more eager, never later.
 */
interface WindowCounter {
  windowStart: number;
  current: number;
  previous: number;
  /** Per-user alerts: no second alert before this time. */
  alertedUntil: number;
}

function bump(c: WindowCounter, now: number, windowMs: number): number {
  const elapsedWindows = Math.floor((now - c.windowStart) / windowMs);
  if (elapsedWindows >= 1) {
    c.previous = elapsedWindows === 1 ? c.current : 0;
    c.current = 0;
    c.windowStart += elapsedWindows * windowMs;
  }
  c.current++;
  const overlap = 1 - (now - c.windowStart) / windowMs;
  return c.previous * overlap + c.current;
}

/** Touches `key` in an insertion-ordered map used as an LRU, evicting the oldest past `cap`. */
function touch<V>(map: Map<string, V>, key: string, make: () => V, cap: number): V {
  let v = map.get(key);
  if (v !== undefined) map.delete(key);
  else v = make();
  map.set(key, v);
  while (map.size > cap) {
    const oldest = map.keys().next();
    if (oldest.done === true) break;
    map.delete(oldest.value);
  }
  return v;
}

/**
 * Brute-force protection for digest authentication.
 *
 * Design: **sources are blocked, users never are.** Failures (a wrong response, an unknown user, a
 * replayed nc — never the normal first unauthenticated request) are counted per source address
 * and per user in a sliding window. A source past `maxFailures` is blocked for `blockSec`: its
 * requests are dropped. A user past `maxFailures` (typically guessing spread over many addresses)
 * only raises an `auth-failure` event: blocking the user would let any attacker lock a real
 * person out of their own phone, whereas blocking sources leaves the phone's own address untouched
 * however many failures arrive for that user from elsewhere.
 *
 * Memory is bounded by {@link BruteForceLimits}; every operation is O(1) amortised.
 */
export class BruteForceGuard {
  private readonly sources = new Map<string, WindowCounter>();
  private readonly users = new Map<string, WindowCounter>();
  private readonly blocked = new Map<string, number>();

  constructor(
    private policy: BruteForcePolicy,
    private readonly limits: BruteForceLimits = DEFAULT_BRUTE_FORCE_LIMITS,
  ) {}

  /** Applies a new policy (from a config push); counters are kept. */
  setPolicy(policy: BruteForcePolicy): void {
    this.policy = policy;
  }

  /** Whether requests from `source` are to be dropped. */
  check(source: string, now: number): 'allowed' | 'blocked' {
    const until = this.blocked.get(source);
    if (until === undefined) return 'allowed';
    if (now < until) return 'blocked';
    this.blocked.delete(source);
    return 'allowed';
  }

  /** Number of sources currently blocked (expired blocks may still be counted until checked). */
  get blockedCount(): number {
    return this.blocked.size;
  }

  /**
   * Records one failed authentication from `source` for `user` (`username@realm`, or undefined
   * when the request named nobody) and returns the events it causes.
   */
  recordFailure(source: string, user: string | undefined, now: number): SecurityEvent[] {
    const windowMs = this.policy.windowSec * 1000;
    const fresh = (): WindowCounter => ({ windowStart: now, current: 0, previous: 0, alertedUntil: 0 });
    const events: SecurityEvent[] = [
      {
        event: 'auth-failure',
        source,
        detail: user === undefined ? 'digest failure' : `digest failure for ${user}`,
        at: now,
      },
    ];

    const s = touch(this.sources, source, fresh, this.limits.maxSources);
    if (bump(s, now, windowMs) > this.policy.maxFailures && this.check(source, now) === 'allowed') {
      touch(this.blocked, source, () => 0, this.limits.maxBlocked);
      this.blocked.set(source, now + this.policy.blockSec * 1000);
      this.sources.delete(source);
      events.push({
        event: 'source-blocked',
        source,
        detail: `more than ${this.policy.maxFailures} failures in ${this.policy.windowSec}s; blocked for ${this.policy.blockSec}s`,
        at: now,
      });
    }

    if (user !== undefined) {
      const u = touch(this.users, user, fresh, this.limits.maxUsers);
      if (bump(u, now, windowMs) > this.policy.maxFailures && now >= u.alertedUntil) {
        u.alertedUntil = now + windowMs;
        events.push({
          event: 'auth-failure',
          source,
          detail: `more than ${this.policy.maxFailures} failures for ${user} in ${this.policy.windowSec}s (user not blocked)`,
          at: now,
        });
      }
    }
    return events;
  }
}
