/**
 * At most one log line per `intervalMs` for a noisy condition (pure: time comes in as a value).
 * `take(now)` answers whether to log now, and how many occurrences were held back since the last line.
 */
export class LogThrottle {
  private last = Number.NEGATIVE_INFINITY;
  private held = 0;

  constructor(private readonly intervalMs: number) {}

  take(now: number): { readonly log: boolean; readonly suppressed: number } {
    if (now - this.last < this.intervalMs) {
      this.held++;
      return { log: false, suppressed: 0 };
    }
    const suppressed = this.held;
    this.held = 0;
    this.last = now;
    return { log: true, suppressed };
  }
}
