import type { Clock, TimerHandle } from '../util/clock.js';

export interface BatcherOptions {
  /** Longest a record waits before its batch goes out. */
  readonly flushMs: number;
  /** A batch goes out as soon as it holds this many records. */
  readonly maxBatch: number;
  /** Records held at most; past it the oldest are dropped (counted), so memory stays bounded. */
  readonly maxPending: number;
}

export const DEFAULT_BATCHER: BatcherOptions = { flushMs: 1000, maxBatch: 500, maxPending: 50_000 };

/**
 * Collects telemetry records (registration and security events) into batches for the control
 * link's `publishEvents`, so a REGISTER storm costs one MQTT message per batch, not per request.
 */
export class TelemetryBatcher<R> {
  private pending: R[] = [];
  private timer: TimerHandle | undefined;
  dropped = 0;

  constructor(
    private readonly options: BatcherOptions,
    private readonly clock: Clock,
    private readonly publish: (batch: readonly R[]) => void,
  ) {}

  add(records: readonly R[]): void {
    if (records.length === 0) return;
    this.pending.push(...records);
    const excess = this.pending.length - this.options.maxPending;
    if (excess > 0) {
      this.pending.splice(0, excess);
      this.dropped += excess;
    }
    if (this.pending.length >= this.options.maxBatch) this.flush();
    else this.timer ??= this.clock.setTimeout(() => this.flush(), this.options.flushMs);
  }

  flush(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    while (this.pending.length > 0) this.publish(this.pending.splice(0, this.options.maxBatch));
  }
}
