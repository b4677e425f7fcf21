import type { Clock, TimerHandle } from '../util/clock.js';

/** Named one-shot timers of one transaction; starting a slot again replaces it. */
export class TimerSlots<Name extends string> {
  private readonly handles = new Map<Name, TimerHandle>();

  constructor(private readonly clock: Clock) {}

  start(name: Name, ms: number, fire: () => void): void {
    this.stop(name);
    this.handles.set(
      name,
      this.clock.setTimeout(() => {
        this.handles.delete(name);
        fire();
      }, ms),
    );
  }

  stop(name: Name): void {
    const handle = this.handles.get(name);
    if (handle !== undefined) this.clock.clearTimeout(handle);
    this.handles.delete(name);
  }

  stopAll(): void {
    for (const handle of this.handles.values()) this.clock.clearTimeout(handle);
    this.handles.clear();
  }
}
