import fc from 'fast-check';
import { expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

it('grows exponentially and stays within [window/2, maxMs]', () => {
  expect(backoffDelay(0, { baseMs: 100, maxMs: 1000 }, 0)).toBe(50);
  expect(backoffDelay(3, { baseMs: 100, maxMs: 1000 }, 1)).toBe(800);
  expect(backoffDelay(10, { baseMs: 100, maxMs: 1000 }, 1)).toBe(1000);
  fc.assert(
    fc.property(fc.nat(1000), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, r) => {
      const d = backoffDelay(attempt, { baseMs: 200, maxMs: 5000 }, r);
      return d >= 100 && d <= 5000;
    }),
  );
});
