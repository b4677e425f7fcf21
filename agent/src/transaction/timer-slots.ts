import type { Clock, TimerHandle } from '../util/clock.js';

/**
 * Named one-shot timers of one transaction; starting a slot again replaces it. The map exists
 * only while a timer is armed: a transaction that waits out its last state on a shared schedule
 * (Timers J, K, L, M) holds no map for those seconds.
 */
export class TimerSlots<Name extends string> {
  private handles: Map<Name, TimerHandle> | undefined;

  constructor(private readonly clock: Clock) {}

  start(name: Name, ms: number, fire: () => void): void {
    this.stop(name);
    this.handles ??= new Map();
    this.handles.set(
      name,
      this.clock.setTimeout(() => {
        this.forget(name);
        fire();
      }, ms),
    );
  }

  stop(name: Name): void {
    const handle = this.handles?.get(name);
    if (handle === undefined) return;
    this.clock.clearTimeout(handle);
    this.forget(name);
  }

  stopAll(): void {
    if (this.handles === undefined) return;
    for (const handle of this.handles.values()) this.clock.clearTimeout(handle);
    this.handles = undefined;
  }

  private forget(name: Name): void {
    if (this.handles === undefined) return;
    this.handles.delete(name);
    if (this.handles.size === 0) this.handles = undefined;
  }
}
