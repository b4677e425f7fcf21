import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { DelayQueue } from './delay-queue.js';

describe('DelayQueue', () => {
  it('expires each item exactly its delay after it was added, on one clock timer', () => {
    const clock = new ManualClock(1000);
    const q = new DelayQueue<{ expire(): void }>(clock, 100);
    const fired: [string, number][] = [];
    const item = (name: string) => ({ expire: () => fired.push([name, clock.now()]) });
    q.add(item('a'));
    clock.advance(30);
    q.add(item('b'));
    q.add(item('c'));
    expect(clock.pending).toBe(1);
    clock.advance(69);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual([['a', 1100]]);
    clock.advance(100);
    expect(fired).toEqual([
      ['a', 1100],
      ['b', 1130],
      ['c', 1130],
    ]);
    expect(q.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('keeps going after an item throws, and clear() forgets everything', () => {
    const clock = new ManualClock();
    const q = new DelayQueue<{ expire(): void }>(clock, 10);
    const fired: number[] = [];
    q.add({
      expire: () => {
        throw new Error('bug');
      },
    });
    q.add({ expire: () => fired.push(1) });
    clock.advance(5);
    q.add({ expire: () => fired.push(2) });
    expect(() => clock.advance(5)).toThrow('bug');
    expect(fired).toEqual([1]);
    clock.advance(5);
    expect(fired).toEqual([1, 2]);
    q.add({ expire: () => fired.push(3) });
    q.clear();
    clock.advance(100);
    expect(fired).toEqual([1, 2]);
    expect(clock.pending).toBe(0);
  });
});
