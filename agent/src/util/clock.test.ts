import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';

describe('ManualClock', () => {
  it('fires timers in due order at their own time, including ones set while firing', () => {
    const clock = new ManualClock(1000);
    const fired: Array<[string, number]> = [];
    clock.setTimeout(() => fired.push(['b', clock.now()]), 200);
    clock.setTimeout(() => {
      fired.push(['a', clock.now()]);
      clock.setTimeout(() => fired.push(['c', clock.now()]), 50);
    }, 100);
    const cancelled = clock.setTimeout(() => fired.push(['x', clock.now()]), 10);
    clock.clearTimeout(cancelled);
    clock.advance(500);
    expect(fired).toEqual([
      ['a', 1100],
      ['c', 1150],
      ['b', 1200],
    ]);
    expect(clock.now()).toBe(1500);
    expect(clock.pending).toBe(0);
  });
});
