import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import {
  checkNonce,
  createNonceVerifier,
  issueNonce,
  nonceIssuedAt,
  nonceIssuedTo,
} from '../../src/auth/nonce.js';

const secret = Buffer.alloc(32, 7);
const opts = { secret, maxAgeMs: 300_000 };
let counter = 0;
const random = (n: number) => Buffer.alloc(n, ++counter);
const T0 = 1_700_000_000_000;

describe('stateless nonces', () => {
  it('carries HMAC-SHA256(secret, timestamp ‖ random ‖ realm), byte for byte what createHmac gives', () => {
    for (const key of [secret, Buffer.alloc(100, 3)]) {
      for (const realm of ['example.com', 'ä'.repeat(300)]) {
        const n = issueNonce({ secret: key, maxAgeMs: 1 }, realm, T0, random);
        const bytes = Buffer.from(n, 'base64url');
        const expected = createHmac('sha256', key)
          .update(bytes.subarray(0, 20))
          .update(realm, 'utf8')
          .digest();
        expect(bytes.subarray(20).equals(expected)).toBe(true);
      }
    }
  });

  it('verifies a nonce it issued for the same realm', () => {
    const n = issueNonce(opts, 'example.com', T0, random);
    expect(checkNonce(opts, 'example.com', n, T0 + 1000)).toBe('valid');
    expect(nonceIssuedAt(n)).toBe(T0);
  });

  it('is base64url, safe inside a quoted-string', () => {
    expect(issueNonce(opts, 'example.com', T0, random)).toMatch(/^[A-Za-z0-9_-]{70}$/);
  });

  it('two nonces issued in the same millisecond differ', () => {
    expect(issueNonce(opts, 'r', T0, random)).not.toBe(issueNonce(opts, 'r', T0, random));
  });

  it('is stale once older than maxAgeMs, and valid right up to it', () => {
    const n = issueNonce(opts, 'example.com', T0, random);
    expect(checkNonce(opts, 'example.com', n, T0 + 300_000)).toBe('valid');
    expect(checkNonce(opts, 'example.com', n, T0 + 300_001)).toBe('stale');
  });

  it('is invalid for another realm, another secret, or when any byte changes', () => {
    const n = issueNonce(opts, 'example.com', T0, random);
    expect(checkNonce(opts, 'example.org', n, T0)).toBe('invalid');
    expect(checkNonce({ ...opts, secret: Buffer.alloc(32, 8) }, 'example.com', n, T0)).toBe('invalid');
    for (let i = 0; i < n.length; i++) {
      const c = n[i] === 'A' ? 'B' : 'A';
      expect(checkNonce(opts, 'example.com', n.slice(0, i) + c + n.slice(i + 1), T0)).toBe('invalid');
    }
  });

  it('is invalid when it claims to come from the future', () => {
    const n = issueNonce(opts, 'example.com', T0 + 60_000, random);
    expect(checkNonce(opts, 'example.com', n, T0)).toBe('invalid');
  });

  it('does not depend on any client address (works across NAT rebinding)', () => {
    // The API has no address input at all; the same nonce verifies for every caller.
    const v = createNonceVerifier(opts);
    const n = issueNonce(opts, 'example.com', T0, random);
    expect(v.check('example.com', n, T0)).toBe('valid');
    expect(v.issuedAt(n)).toBe(T0);
  });

  it('records the address it was sent to, without making it part of authenticity', () => {
    const n = issueNonce(opts, 'example.com', T0, random, '192.0.2.7');
    expect(checkNonce(opts, 'example.com', n, T0)).toBe('valid');
    expect(nonceIssuedTo(opts, n, '192.0.2.7')).toBe(true);
    expect(nonceIssuedTo(opts, n, '192.0.2.8')).toBe(false);
    expect(nonceIssuedTo({ ...opts, secret: Buffer.alloc(32, 8) }, n, '192.0.2.7')).toBe(false);
    // Its own verifier answers the same from memory and, once forgotten, from the tag.
    const v = createNonceVerifier(opts);
    const fresh = v.issue!('example.com', T0, random, '2001:db8::1');
    expect([v.issuedTo!(fresh, '2001:db8::1'), v.issuedTo!(fresh, '2001:db8::2')]).toEqual([true, false]);
    for (let i = 0; i < 5000; i++) v.issue!('example.com', T0, random, '192.0.2.1');
    expect([v.issuedTo!(fresh, '2001:db8::1'), v.issuedTo!(fresh, '2001:db8::2')]).toEqual([true, false]);
  });

  it('refuses a short secret (a bug, thrown)', () => {
    expect(() => issueNonce({ secret: Buffer.alloc(8), maxAgeMs: 1 }, 'r', T0, random)).toThrow();
  });

  it('random strings never throw and never verify', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (s) => checkNonce(opts, 'example.com', s, T0) === 'invalid'),
      { numRuns: 2000 },
    );
  });
});

describe('nonce verifier: the nonces it issued last', () => {
  it('judges a nonce it just issued exactly as the full check does: valid, stale, other realm, future', () => {
    const cases: Array<[string, number, number]> = [
      ['example.com', T0, T0 + 1_000], // fresh
      ['example.com', T0, T0 + 300_001], // stale
      ['example.org', T0, T0 + 1_000], // issued for another realm
      ['example.com', T0 + 60_000, T0], // the clock stepped back a minute
    ];
    for (const [realm, issuedAt, checkedAt] of cases) {
      const v = createNonceVerifier(opts);
      const n = v.issue!('example.com', issuedAt, random);
      expect(v.check(realm, n, checkedAt)).toBe(checkNonce(opts, realm, n, checkedAt));
      if (v.check(realm, n, checkedAt) !== 'invalid') expect(v.issuedAt(n)).toBe(issuedAt);
    }
  });

  it('still verifies (by its MAC) a nonce issued before the last 4096, and never one that was altered', () => {
    const v = createNonceVerifier(opts);
    const first = v.issue!('example.com', T0, random);
    for (let i = 0; i < 5000; i++) v.issue!('example.com', T0 + i, random);
    expect(v.check('example.com', first, T0 + 10_000)).toBe('valid');
    const last = v.issue!('example.com', T0, random);
    const altered = `${last.slice(0, 10)}${last[10] === 'A' ? 'B' : 'A'}${last.slice(11)}`;
    expect(v.check('example.com', altered, T0)).toBe('invalid');
    // A nonce of another verifier (another secret, or before a restart) is not in its memory.
    const other = createNonceVerifier({ ...opts, secret: Buffer.alloc(32, 9) });
    expect(v.check('example.com', other.issue!('example.com', T0, random), T0)).toBe('invalid');
  });
});
