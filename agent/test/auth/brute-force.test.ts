import { SecurityEventRecordSchema } from '@sipwall/shared';
import { describe, expect, it } from 'vitest';
import { BruteForceGuard } from '../../src/auth/brute-force.js';
import { matchesScanner } from '../../src/auth/scanner.js';
import { toSecurityRecord } from '../../src/auth/security-event.js';
import { ManualClock } from '../../src/util/clock.js';

const policy = { maxFailures: 3, windowSec: 60, blockSec: 900 };
const kinds = (events: { event: string }[]) => events.map((e) => e.event);

describe('BruteForceGuard', () => {
  it('tolerates maxFailures failures in the window and blocks the source on the next one', () => {
    const clock = new ManualClock(1_000_000);
    const g = new BruteForceGuard(policy);
    for (let i = 0; i < 3; i++) {
      expect(kinds(g.recordFailure('203.0.113.9', 'alice@example.com', clock.now()))).toEqual([
        'auth-failure',
      ]);
      clock.advance(1000);
    }
    expect(g.check('203.0.113.9', clock.now())).toBe('allowed');
    expect(kinds(g.recordFailure('203.0.113.9', 'alice@example.com', clock.now()))).toContain(
      'source-blocked',
    );
    expect(g.check('203.0.113.9', clock.now())).toBe('blocked');
    expect(g.check('203.0.113.10', clock.now())).toBe('allowed');
  });

  it('lifts the block after blockSec', () => {
    const clock = new ManualClock(0);
    const g = new BruteForceGuard(policy);
    for (let i = 0; i < 4; i++) g.recordFailure('203.0.113.9', undefined, clock.now());
    clock.advance(899_999);
    expect(g.check('203.0.113.9', clock.now())).toBe('blocked');
    clock.advance(1);
    expect(g.check('203.0.113.9', clock.now())).toBe('allowed');
  });

  it('forgets failures that slid out of the window', () => {
    const clock = new ManualClock(0);
    const g = new BruteForceGuard(policy);
    for (let i = 0; i < 3; i++) g.recordFailure('198.51.100.1', undefined, clock.now());
    clock.advance(121_000); // two windows later: nothing overlaps
    for (let i = 0; i < 3; i++) g.recordFailure('198.51.100.1', undefined, clock.now());
    expect(g.check('198.51.100.1', clock.now())).toBe('allowed');
  });

  it('counts the previous window by its overlap (sliding, never later than a fixed window)', () => {
    const clock = new ManualClock(0);
    const g = new BruteForceGuard(policy);
    for (let i = 0; i < 3; i++) g.recordFailure('198.51.100.2', undefined, clock.now());
    clock.advance(61_000); // 3 × (59/60) + 1 > 3
    g.recordFailure('198.51.100.2', undefined, clock.now());
    expect(g.check('198.51.100.2', clock.now())).toBe('blocked');
  });

  it("never blocks a user's own source because of failures for that user from other sources", () => {
    const clock = new ManualClock(0);
    const g = new BruteForceGuard(policy);
    const events = [];
    // A distributed guess: 20 addresses, one failure each, all for alice.
    for (let i = 0; i < 20; i++)
      events.push(...g.recordFailure(`203.0.113.${i}`, 'alice@example.com', clock.now()));
    // alice's phone on the LAN is untouched; none of the guessers is blocked either (one try each)…
    expect(g.check('10.0.0.5', clock.now())).toBe('allowed');
    expect(g.check('203.0.113.1', clock.now())).toBe('allowed');
    // …but the per-user counter raised exactly one alert for the window.
    const alerts = events.filter((e) => e.detail.includes('(user not blocked)'));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.detail).toContain('alice@example.com');
  });

  it('keeps memory bounded: counters beyond the caps evict the oldest', () => {
    const g = new BruteForceGuard(policy, { maxSources: 100, maxUsers: 100, maxBlocked: 10 });
    for (let i = 0; i < 10_000; i++)
      g.recordFailure(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `u${i}`, 0);
    // Fill the block table past its cap.
    for (let i = 0; i < 50; i++) for (let j = 0; j < 4; j++) g.recordFailure(`192.0.2.${i}`, undefined, 0);
    expect(g.blockedCount).toBe(10);
    expect(g.check('192.0.2.49', 0)).toBe('blocked');
  });

  it('produces events that become valid SecurityEvent records without secrets', () => {
    const g = new BruteForceGuard({ maxFailures: 1, windowSec: 60, blockSec: 60 });
    g.recordFailure('2001:db8::7', 'bob@example.com', 1_700_000_000_000);
    const events = g.recordFailure('2001:db8::7', 'bob@example.com', 1_700_000_000_000);
    for (const e of events) {
      const rec = toSecurityRecord(e, '0b7e4c38-5a1f-4a7e-9a2b-4c7d9f0e1a2b');
      expect(SecurityEventRecordSchema.safeParse(rec).success).toBe(true);
    }
    expect(kinds(events)).toEqual(['auth-failure', 'source-blocked', 'auth-failure']);
  });
});

describe('matchesScanner', () => {
  const list = ['friendly-scanner', 'sipvicious', 'sipcli', 'VaxSIPUserAgent'];
  it.each([
    ['friendly-scanner', true],
    ['Friendly-Scanner/1.0', true],
    ['sipcli/v1.8', true],
    ['vaxsipuseragent/3.1', true],
    ['Yealink SIP-T46S 66.86.0.15', false],
    ['', false],
  ])('%s → %s', (ua, expected) => {
    expect(matchesScanner(ua, list)).toBe(expected);
  });
  it('does not match when no User-Agent is present', () => {
    expect(matchesScanner(undefined, list)).toBe(false);
  });
});
