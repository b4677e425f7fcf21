import { DigestAuthSchema } from '@sipwall/shared';
import { describe, expect, it } from 'vitest';
import {
  compileAlgorithmPolicy,
  type OfferUser,
  offeredAlgorithms,
} from '../../src/auth/offered-algorithms.js';

const MD5 = 'a'.repeat(32);
const SHA = 'b'.repeat(64);

const policy = compileAlgorithmPolicy(
  DigestAuthSchema.parse({
    algorithms: ['MD5', 'SHA-256'],
    domainAlgorithms: { 'Secure.Test': ['SHA-256', 'MD5'], 'legacy.test': ['MD5'] },
  }),
);

function user(domain: string, ha1: OfferUser['ha1'], algorithms?: OfferUser['algorithms']): OfferUser {
  return { username: 'alice', domain, ha1, ...(algorithms === undefined ? {} : { algorithms }) };
}

describe('offeredAlgorithms: user, else domain, else site; then only what the user has an HA1 for', () => {
  it('uses the site order for a domain without its own', () => {
    expect(
      offeredAlgorithms(policy, user('example.test', { md5: MD5, sha256: SHA }), 'example.test'),
    ).toEqual(['MD5', 'SHA-256']);
  });

  it("uses the domain's order over the site's (domain compared case-insensitively)", () => {
    const u = user('secure.test', { md5: MD5, sha256: SHA });
    expect(offeredAlgorithms(policy, u, 'secure.test')).toEqual(['SHA-256', 'MD5']);
    expect(offeredAlgorithms(policy, u, 'SECURE.test')).toEqual(['SHA-256', 'MD5']);
    expect(offeredAlgorithms(policy, user('legacy.test', { md5: MD5, sha256: SHA }), 'legacy.test')).toEqual([
      'MD5',
    ]);
  });

  it("uses the user's own order over the domain's and the site's", () => {
    const u = user('secure.test', { md5: MD5, sha256: SHA }, ['MD5']);
    expect(offeredAlgorithms(policy, u, 'secure.test')).toEqual(['MD5']);
    const v = user('example.test', { md5: MD5, sha256: SHA }, ['SHA-256', 'MD5']);
    expect(offeredAlgorithms(policy, v, 'example.test')).toEqual(['SHA-256', 'MD5']);
  });

  it('drops algorithms the user has no HA1 for, keeping the order', () => {
    expect(offeredAlgorithms(policy, user('example.test', { sha256: SHA }), 'example.test')).toEqual([
      'SHA-256',
    ]);
    expect(offeredAlgorithms(policy, user('secure.test', { md5: MD5 }), 'secure.test')).toEqual(['MD5']);
  });

  it('offers what the user can answer when nothing configured is left', () => {
    expect(offeredAlgorithms(policy, user('legacy.test', { sha256: SHA }), 'legacy.test')).toEqual([
      'SHA-256',
    ]);
  });

  it("gives an unknown user the realm's list unfiltered", () => {
    expect(offeredAlgorithms(policy, undefined, 'secure.test')).toEqual(['SHA-256', 'MD5']);
    expect(offeredAlgorithms(policy, undefined, 'example.test')).toEqual(['MD5', 'SHA-256']);
  });

  it('defaults to MD5 alone (baresip 1.0 fails on any other challenge)', () => {
    const defaults = compileAlgorithmPolicy(DigestAuthSchema.parse({}));
    expect(
      offeredAlgorithms(defaults, user('example.test', { md5: MD5, sha256: SHA }), 'example.test'),
    ).toEqual(['MD5']);
  });

  it('returns the configured array itself when nothing is filtered (no allocation per request)', () => {
    expect(offeredAlgorithms(policy, user('example.test', { md5: MD5, sha256: SHA }), 'example.test')).toBe(
      policy.site,
    );
  });
});
