import type { Clock, TimerHandle } from './clock.js';

/** Something a {@link DelayQueue} hands back once its delay has passed. */
export interface Expirable {
  expire(): void;
}

/**
 * Many one-shot timers that all share one delay (e.g. Timer J = 64·T1 of every non-INVITE
 * server transaction on UDP) on a single clock timer. Because the delay is fixed, due times
 * arrive in insertion order, so a FIFO is the whole schedule: `add` is O(1), no closure or
 * timer per item, and the clock timer is armed only for the head. Items are not cancelled;
 * `expire` must ignore items that already ended. If the wall clock steps backwards, items queued
 * after the step fire with the earlier ones, i.e. at most that much late.
 */
export class DelayQueue<T extends Expirable> {
  private items: (T | undefined)[] = [];
  private dues: number[] = [];
  private head = 0;
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    readonly delayMs: number,
  ) {}

  /** Items queued and not yet expired. */
  get size(): number {
    return this.items.length - this.head;
  }

  add(item: T): void {
    const due = this.clock.now() + this.delayMs;
    this.items.push(item);
    this.dues.push(due);
    if (this.timer === undefined) this.arm(due);
  }

  /** Forgets every queued item without expiring it (shutdown). */
  clear(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.items = [];
    this.dues = [];
    this.head = 0;
  }

  private arm(due: number): void {
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, due - this.clock.now()));
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.clock.now();
    let failure: { error: unknown } | undefined;
    while (this.head < this.items.length && this.dues[this.head]! <= now) {
      const item = this.items[this.head]!;
      this.items[this.head] = undefined;
      this.head++;
      try {
        item.expire();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.dues = this.dues.slice(this.head);
      this.head = 0;
    }
    if (this.timer === undefined && this.head < this.items.length) this.arm(this.dues[this.head]!);
    if (failure !== undefined) throw failure.error;
  }
}
