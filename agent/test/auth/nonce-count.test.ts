import { describe, expect, it } from 'vitest';
import { NonceCountTracker } from '../../src/auth/nonce-count.js';

describe('NonceCountTracker', () => {
  it('accepts increasing counts and rejects any count not above the highest seen', () => {
    const t = new NonceCountTracker({ maxEntries: 10, maxAgeMs: 1000 });
    expect(t.check('n', 1, 0)).toBe('fresh');
    t.accept('n', 1, 0, 0);
    expect(t.check('n', 1, 0)).toBe('replayed');
    expect(t.check('n', 2, 0)).toBe('fresh');
    t.accept('n', 5, 0, 0);
    expect(t.check('n', 3, 0)).toBe('replayed');
    expect(t.check('other', 1, 0)).toBe('fresh');
  });

  it('stays within maxEntries and answers "forgotten" for nonces older than the newest eviction', () => {
    const t = new NonceCountTracker({ maxEntries: 3, maxAgeMs: 1_000_000 });
    for (let i = 0; i < 5; i++) t.accept(`n${i}`, 1, i, i);
    expect(t.size).toBe(3);
    // n0 and n1 were evicted: a replay of them must not count as fresh.
    expect(t.check('n0', 1, 0)).toBe('forgotten');
    expect(t.check('n1', 1, 1)).toBe('forgotten');
    expect(t.check('n2', 1, 2)).toBe('replayed');
    // A nonce issued after the eviction mark is genuinely new.
    expect(t.check('n9', 1, 9)).toBe('fresh');
  });

  it('drops nonces past maxAgeMs on prune', () => {
    const t = new NonceCountTracker({ maxEntries: 100, maxAgeMs: 100 });
    t.accept('a', 1, 0, 0);
    t.accept('b', 1, 50, 50);
    t.prune(120);
    expect(t.size).toBe(1);
    expect(t.check('b', 1, 50)).toBe('replayed');
  });

  it('keeps first-acceptance order: a nonce still in use is evicted for capacity and then "forgotten"', () => {
    const t = new NonceCountTracker({ maxEntries: 2, maxAgeMs: 1_000_000 });
    t.accept('a', 1, 0, 0);
    t.accept('b', 1, 1, 1);
    expect(t.check('a', 2, 0)).toBe('fresh');
    t.accept('a', 2, 0, 2); // in use again, but still the oldest
    t.accept('c', 1, 3, 3);
    expect(t.size).toBe(2);
    expect(t.check('a', 3, 0)).toBe('forgotten');
    expect(t.check('b', 1, 1)).toBe('replayed');
  });

  it('an accept right after its check records the count (and only for that nonce)', () => {
    const t = new NonceCountTracker({ maxEntries: 10, maxAgeMs: 1000 });
    t.accept('n', 1, 0, 0);
    expect(t.check('n', 4, 0)).toBe('fresh');
    t.accept('n', 4, 0, 0);
    expect(t.check('n', 4, 0)).toBe('replayed');
    expect(t.check('n', 2, 0)).toBe('replayed');
    expect(t.check('m', 1, 0)).toBe('fresh');
    t.accept('n', 9, 0, 0); // not the nonce just checked: looked up anew
    expect(t.check('n', 9, 0)).toBe('replayed');
    expect(t.check('m', 1, 0)).toBe('fresh');
  });

  it('trims aged-out nonces as it accepts, without a timer', () => {
    const t = new NonceCountTracker({ maxEntries: 100_000, maxAgeMs: 100 });
    for (let i = 0; i < 300; i++) t.accept(`old${i}`, 1, 0, 0);
    for (let i = 0; i < 300; i++) t.accept(`new${i}`, 1, 500, 500);
    expect(t.size).toBeLessThan(600);
    expect(t.check('new299', 1, 500)).toBe('replayed');
  });
});
