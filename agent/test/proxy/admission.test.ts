import { describe, expect, it } from 'vitest';
import { CallAdmission } from '../../src/proxy/admission.js';

const limits = {
  maxConcurrentCallsPerUser: 2,
  maxCallAttemptsPerSecPerUser: 3,
  maxConcurrentCallsPerSite: 4,
  maxCallAttemptsPerSecPerSite: 10,
};

describe('CallAdmission (toll-fraud guard)', () => {
  it('answers 486 past a user’s concurrent calls and frees the slot on release', () => {
    const a = new CallAdmission(limits);
    expect(a.admit(['alice'], 0).ok).toBe(true);
    expect(a.admit(['alice'], 0).ok).toBe(true);
    expect(a.admit(['alice'], 0)).toMatchObject({
      ok: false,
      status: 486,
      limit: 'user-concurrent',
      user: 'alice',
    });
    a.release(['alice']);
    expect(a.admit(['alice'], 0).ok).toBe(true);
  });

  it('answers 503 past a user’s attempts per second, and a new second starts over', () => {
    const a = new CallAdmission({
      ...limits,
      maxConcurrentCallsPerUser: 100,
      maxConcurrentCallsPerSite: 100,
    });
    for (let i = 0; i < 3; i++) expect(a.admit(['bob'], 5_000).ok).toBe(true);
    expect(a.admit(['bob'], 5_999)).toMatchObject({ ok: false, status: 503, limit: 'user-rate' });
    expect(a.admit(['bob'], 6_000).ok).toBe(true);
  });

  it('limits the site as a whole', () => {
    const a = new CallAdmission(limits);
    for (const u of ['a', 'b', 'c', 'd']) expect(a.admit([u], 0).ok).toBe(true);
    expect(a.admit(['e'], 0)).toMatchObject({ ok: false, status: 503, limit: 'site-concurrent' });
    expect(a.activeCalls).toBe(4);
    const b = new CallAdmission({
      ...limits,
      maxConcurrentCallsPerSite: 1000,
      maxConcurrentCallsPerUser: 1000,
    });
    for (let i = 0; i < 10; i++) expect(b.admit([`u${i}`], 0).ok).toBe(true);
    expect(b.admit(['x'], 0)).toMatchObject({ ok: false, status: 503, limit: 'site-rate' });
  });

  it('counts a call between two users once per user and applies new limits', () => {
    const a = new CallAdmission(limits);
    expect(a.admit(['alice', 'bob', 'alice'], 0).ok).toBe(true);
    expect(a.admit(['alice', 'bob'], 0).ok).toBe(true);
    expect(a.admit(['bob'], 0).ok).toBe(false);
    a.setLimits({ ...limits, maxConcurrentCallsPerUser: 3 });
    expect(a.admit(['bob'], 0).ok).toBe(true);
  });
});
