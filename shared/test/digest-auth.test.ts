import { describe, expect, it } from 'vitest';
import { AgentConfigSchema, SipUserSchema, toFieldIssues } from '../src/index.js';

const minimalSip = {
  domains: ['example.test'],
  interfaces: [{ name: 'inside', role: 'inside', address: '127.0.0.1' }],
};
const alice = { username: 'alice', domain: 'example.test', ha1: { md5: 'a'.repeat(32) } };

describe('sip.auth and a user algorithms', () => {
  it('offers MD5 alone by default (baresip 1.0 refuses a 401 naming any other algorithm)', () => {
    const cfg = AgentConfigSchema.parse({ sip: minimalSip });
    expect(cfg.sip.auth).toEqual({ algorithms: ['MD5'], domainAlgorithms: {} });
    expect(AgentConfigSchema.parse({ sip: { ...minimalSip, auth: {} } }).sip.auth.algorithms).toEqual([
      'MD5',
    ]);
  });

  it('takes a site order and a per-domain override', () => {
    const cfg = AgentConfigSchema.parse({
      sip: {
        ...minimalSip,
        auth: { algorithms: ['SHA-256', 'MD5'], domainAlgorithms: { 'b.test': ['MD5'] } },
      },
    });
    expect(cfg.sip.auth.algorithms).toEqual(['SHA-256', 'MD5']);
    expect(cfg.sip.auth.domainAlgorithms).toEqual({ 'b.test': ['MD5'] });
  });

  it('refuses an empty list, a repeated algorithm and an unknown one, by path', () => {
    for (const algorithms of [[], ['MD5', 'MD5'], ['SHA-512-256']]) {
      const r = AgentConfigSchema.safeParse({ sip: { ...minimalSip, auth: { algorithms } } });
      expect(r.success).toBe(false);
      if (!r.success) expect(toFieldIssues(r.error)[0]?.path).toMatch(/^sip\.auth\.algorithms/);
    }
  });

  it('keeps a user without algorithms as before and accepts one whose algorithms have their HA1', () => {
    expect(SipUserSchema.parse(alice).algorithms).toBeUndefined();
    const both = { ...alice, ha1: { md5: 'a'.repeat(32), sha256: 'b'.repeat(64) }, algorithms: ['SHA-256'] };
    expect(SipUserSchema.parse(both).algorithms).toEqual(['SHA-256']);
  });

  it('refuses a user algorithm without its HA1, naming users.N.algorithms', () => {
    const r = AgentConfigSchema.safeParse({
      sip: minimalSip,
      users: [{ ...alice, algorithms: ['SHA-256'] }],
    });
    expect(r.success).toBe(false);
    if (!r.success) expect(toFieldIssues(r.error)[0]?.path).toBe('users.0.algorithms');
  });
});
