/** Call admission limits (`policies.callAdmission`). */
export interface AdmissionLimits {
  readonly maxConcurrentCallsPerUser: number;
  readonly maxCallAttemptsPerSecPerUser: number;
  readonly maxConcurrentCallsPerSite: number;
  readonly maxCallAttemptsPerSecPerSite: number;
}

export type AdmissionVerdict =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly status: 486 | 503;
      readonly reason: string;
      /** Which limit: for the security event and the log. */
      readonly limit: 'user-concurrent' | 'user-rate' | 'site-concurrent' | 'site-rate';
      readonly user: string | undefined;
    };

/** Attempts in the current one-second window. */
interface Rate {
  second: number;
  count: number;
}

const MAX_TRACKED_USERS = 100_000;

/**
 * The toll-fraud guard: concurrent calls and call attempts per second, per user and per site.
 * A call holds its slots from admission until `release` (its INVITE failed, or its dialog ended).
 * Time comes in as a value (ms), so the guard is tested without waiting.
 */
export class CallAdmission {
  private siteCalls = 0;
  private readonly siteRate: Rate = { second: 0, count: 0 };
  private readonly userCalls = new Map<string, number>();
  private readonly userRates = new Map<string, Rate>();

  constructor(private limits: AdmissionLimits) {}

  setLimits(limits: AdmissionLimits): void {
    this.limits = limits;
  }

  get activeCalls(): number {
    return this.siteCalls;
  }

  /**
   * Admits a new call for `users` (the inside caller and/or the local callee, deduplicated) or
   * says which limit refuses it. Admitted calls count at once.
   */
  admit(users: readonly string[], nowMs: number): AdmissionVerdict {
    const second = Math.floor(nowMs / 1000);
    const l = this.limits;
    if (this.siteCalls >= l.maxConcurrentCallsPerSite) {
      return refuse(503, 'Site Call Limit Reached', 'site-concurrent', undefined);
    }
    if (bump(this.siteRate, second) > l.maxCallAttemptsPerSecPerSite) {
      return refuse(503, 'Site Call Rate Exceeded', 'site-rate', undefined);
    }
    const unique = [...new Set(users)];
    for (const u of unique) {
      if ((this.userCalls.get(u) ?? 0) >= l.maxConcurrentCallsPerUser) {
        return refuse(486, 'Busy Here', 'user-concurrent', u);
      }
      let rate = this.userRates.get(u);
      if (rate === undefined) {
        if (this.userRates.size >= MAX_TRACKED_USERS) this.pruneRates(second);
        rate = { second, count: 0 };
        this.userRates.set(u, rate);
      }
      if (bump(rate, second) > l.maxCallAttemptsPerSecPerUser) {
        return refuse(503, 'Call Rate Exceeded', 'user-rate', u);
      }
    }
    this.siteCalls++;
    for (const u of unique) this.userCalls.set(u, (this.userCalls.get(u) ?? 0) + 1);
    return { ok: true };
  }

  /** Gives back the slots of a call admitted for `users`. */
  release(users: readonly string[]): void {
    this.siteCalls = Math.max(0, this.siteCalls - 1);
    for (const u of new Set(users)) {
      const n = (this.userCalls.get(u) ?? 0) - 1;
      if (n <= 0) this.userCalls.delete(u);
      else this.userCalls.set(u, n);
    }
  }

  private pruneRates(second: number): void {
    for (const [u, r] of this.userRates) if (r.second < second) this.userRates.delete(u);
  }
}

function bump(rate: Rate, second: number): number {
  if (rate.second !== second) {
    rate.second = second;
    rate.count = 0;
  }
  rate.count++;
  return rate.count;
}

function refuse(
  status: 486 | 503,
  reason: string,
  limit: 'user-concurrent' | 'user-rate' | 'site-concurrent' | 'site-rate',
  user: string | undefined,
): AdmissionVerdict {
  return { ok: false, status, reason, limit, user };
}
