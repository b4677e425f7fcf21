import { describe, expect, it } from 'vitest';
import { SignInThrottle, sourceKey } from './sign-in-throttle.js';

describe('SignInThrottle', () => {
  it('counts an attempt before its outcome is known (concurrent calls of a batch)', () => {
    const t = new SignInThrottle(() => 0, { maxFailuresPerSource: 3, maxFailuresPerAccount: 100 });
    const admitted = Array.from({ length: 5 }, (_, i) => t.begin('s', `a${i}`)).filter((d) => d.allowed);
    expect(admitted).toHaveLength(3);
  });

  it('a success does not give the source its failures back, only its own slot', () => {
    let now = 0;
    const t = new SignInThrottle(() => now, { maxFailuresPerSource: 2, maxFailuresPerAccount: 100 });
    const first = t.begin('s', 'victim');
    if (first.allowed) first.attempt.failed();
    const own = t.begin('s', 'attacker-own-account');
    if (own.allowed) own.attempt.succeeded();
    const second = t.begin('s', 'victim');
    if (second.allowed) second.attempt.failed();
    expect(t.begin('s', 'victim')).toMatchObject({ allowed: false, scope: 'source', retryAfterSec: 900 });
    now = 900_001;
    expect(t.begin('s', 'victim').allowed).toBe(true);
  });

  it('keeps memory bounded', () => {
    const t = new SignInThrottle(() => 0, { maxTrackedKeys: 100 });
    for (let i = 0; i < 1000; i++) {
      const d = t.begin(`s${i}`, `a${i}`);
      if (d.allowed) d.attempt.failed();
    }
    expect(t.tracked()).toEqual({ sources: 100, accounts: 100 });
  });
});

describe('sourceKey', () => {
  it('groups IPv6 by /64, keeps IPv4', () => {
    expect(sourceKey('192.0.2.1')).toBe('192.0.2.1');
    expect(sourceKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(sourceKey('2001:db8:1:2::ffff')).toBe(sourceKey('2001:db8:1:2:aaaa::1'));
    expect(sourceKey('::1')).toBe('0:0:0:0::/64');
  });
});
