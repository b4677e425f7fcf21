import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Endpoint } from './types.js';

/** Connection events a peer can cause in bulk (one per connection it opens). */
export type ConnectionEvent =
  | 'refused'
  | 'evicted'
  | 'message-timeout'
  | 'first-message-timeout'
  | 'framing-error';

/** Distinct source addresses remembered per interval for the summary (bounds the memory a flood costs). */
const MAX_SOURCES = 1024;
const SAMPLE_SOURCES = 5;

/**
 * Rate-limited logging of connection events. The first event after a quiet interval is logged
 * at once with its details; the events that follow within `intervalMs` are only counted, and
 * one summary line per interval reports them (counts per event, distinct sources, a sample).
 * A flood of N refused connections thus costs one line plus one per interval, not N lines.
 */
export class ConnectionEventLog {
  private timer: TimerHandle | undefined;
  private counts: Partial<Record<ConnectionEvent, number>> = {};
  private total = 0;
  private sources = new Set<string>();

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly intervalMs: number,
  ) {}

  /** Records one event; logs it (at `level`) only when no interval is running. */
  record(
    event: ConnectionEvent,
    remote: Endpoint,
    message: string,
    fields: Record<string, unknown> = {},
    level: 'warn' | 'info' = 'warn',
  ): void {
    if (this.timer === undefined) {
      this.log[level]({ event, remote, ...fields }, message);
      this.timer = this.clock.setTimeout(() => this.flush(), this.intervalMs);
      return;
    }
    this.counts[event] = (this.counts[event] ?? 0) + 1;
    this.total++;
    if (this.sources.size < MAX_SOURCES) this.sources.add(remote.address);
  }

  /** End of an interval: one summary line if anything was held back; the next interval starts only then. */
  private flush(): void {
    this.timer = undefined;
    if (this.total === 0) return;
    this.log.warn(
      {
        events: this.counts,
        sources: this.sources.size,
        sample: [...this.sources].slice(0, SAMPLE_SOURCES),
        intervalMs: this.intervalMs,
      },
      `${this.total} more connection events (refused, evicted, timed out, framing) in the last interval`,
    );
    this.counts = {};
    this.total = 0;
    this.sources = new Set();
    this.timer = this.clock.setTimeout(() => this.flush(), this.intervalMs);
  }

  /** Stops the timer and writes the pending summary, if any. */
  close(): void {
    if (this.timer === undefined) return;
    this.clock.clearTimeout(this.timer);
    this.flush();
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
