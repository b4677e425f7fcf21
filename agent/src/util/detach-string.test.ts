import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { detachString } from './detach-string.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterKeeping(copy: (s: string) => string): number {
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept: string[] = [];
  for (let i = 0; i < 200; i++) {
    // A 200 KB "message" per iteration; keep 70 characters cut from its middle.
    const message = `${i}:`.padEnd(200_000, 'm') + 'n'.repeat(100);
    kept.push(copy(message.slice(199_990, 200_060)));
  }
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  expect(kept.join('').length).toBe(200 * 70);
  return grown;
}

describe('detachString', () => {
  it('keeps the characters and lets the text it was cut from go', () => {
    const slices = heapAfterKeeping((s) => s);
    const detached = heapAfterKeeping(detachString);
    expect(slices).toBeGreaterThan(30_000_000); // 200 × 200 KB held by plain slices
    expect(detached).toBeLessThan(2_000_000); // only 200 × ~70 characters
  });
});
