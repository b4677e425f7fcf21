import { describe, expect, it } from 'vitest';
import { createRandomPool } from './random-pool.js';

describe('random pool', () => {
  it('hands out each pooled byte once and refills in bulk when it runs out', () => {
    let fills = 0;
    const pool = createRandomPool(16, (buf) => {
      fills++;
      for (let i = 0; i < buf.length; i++) buf[i] = (fills * 16 + i) & 0xff;
    });
    expect(pool.hex(4)).toBe('10111213');
    expect(Buffer.from(pool.bytes(8)).toString('hex')).toBe('1415161718191a1b');
    expect(fills).toBe(1);
    const copy = pool.bytes(4);
    expect(Buffer.from(copy).toString('hex')).toBe('1c1d1e1f');
    expect(pool.base64url(3)).toBe(Buffer.from([0x20, 0x21, 0x22]).toString('base64url'));
    expect(fills).toBe(2);
    expect(Buffer.from(copy).toString('hex')).toBe('1c1d1e1f'); // a copy: the refill did not touch it
    expect(() => pool.bytes(17)).toThrow(RangeError);
  });

  it('draws real randomness by default', () => {
    const pool = createRandomPool();
    const tags = new Set(Array.from({ length: 10_000 }, () => pool.hex(8)));
    expect(tags.size).toBe(10_000);
  });
});
