import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ConfigLayer } from '../../src/db/queries/fleet-config.js';
import {
  compileSite,
  type DesiredContent,
  diffContent,
  HIDDEN,
  overlay,
  redactState,
  type SiteSources,
  sameContent,
} from '../../src/domain/compile.js';
import { computeHa1 } from '../../src/domain/sip-users.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function user(username: string, password: string, over: Partial<SiteSources['users'][number]> = {}) {
  const domain = over.domain ?? 'example.com';
  return {
    username,
    domain,
    enabled: true,
    ha1Md5: computeHa1('md5', username, domain, password),
    ha1Sha256: computeHa1('sha256', username, domain, password),
    algorithms: null,
    ...over,
  };
}

const empty: ConfigLayer = { config: {}, policies: {} };

function compiled(src: Partial<SiteSources>): DesiredContent {
  const r = compileSite({ organization: empty, site: empty, users: [], ...src });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.content;
}

describe('computeHa1', () => {
  it('is H(username:realm:password) in lower-case hex (RFC 7616 §3.4.2)', () => {
    expect(computeHa1('md5', 'alice', 'example.com', 's3cret')).toBe(md5('alice:example.com:s3cret'));
    expect(computeHa1('sha256', 'alice', 'example.com', 's3cret')).toBe(sha256('alice:example.com:s3cret'));
    expect(computeHa1('md5', 'alice', 'example.org', 's3cret')).not.toBe(
      computeHa1('md5', 'alice', 'example.com', 's3cret'),
    );
  });
});

describe('overlay (organization, then site)', () => {
  it('merges objects field by field, replaces lists and scalars, keeps absent, lets null replace', () => {
    const org = {
      logLevel: 'info',
      registrar: { minExpiresSec: 60, maxExpiresSec: 3600 },
      domains: ['a.example'],
      outboundProxy: 'proxy.example:5060',
    };
    const site = { registrar: { maxExpiresSec: 600 }, domains: ['b.example'], outboundProxy: null };
    expect(overlay<Record<string, unknown>>(org, site)).toEqual({
      logLevel: 'info',
      registrar: { minExpiresSec: 60, maxExpiresSec: 600 },
      domains: ['b.example'],
      outboundProxy: null,
    });
    expect(overlay<Record<string, unknown>>(org, {})).toEqual(org);
  });
});

describe('compileSite', () => {
  it('compiles org policies with site overrides, the site config, and enabled users only, sorted', () => {
    const content = compiled({
      organization: {
        config: { logLevel: 'info' },
        policies: { bruteForce: { maxFailures: 5, windowSec: 30 } },
      },
      site: { config: { logLevel: 'debug' }, policies: { bruteForce: { windowSec: 120 } } },
      users: [
        user('zed', 'pw-zed-123'),
        user('bob', 'pw-bob-123', { enabled: false }),
        user('amy', 'pw-amy-123', { algorithms: ['SHA-256', 'MD5'] }),
      ],
    });
    expect(content.config).toEqual({ logLevel: 'debug' });
    expect(content.policies).toEqual({ bruteForce: { maxFailures: 5, windowSec: 120 } });
    expect(content.users.map((u) => u.username)).toEqual(['amy', 'zed']);
    expect(content.users[0]).toEqual({
      username: 'amy',
      domain: 'example.com',
      ha1: { md5: md5('amy:example.com:pw-amy-123'), sha256: sha256('amy:example.com:pw-amy-123') },
      allowFrom: [],
      maxBindings: 10,
      algorithms: ['SHA-256', 'MD5'],
    });
    expect(content.users[1]).not.toHaveProperty('algorithms');
  });

  it('names the field and the bad value when the merged levels are inconsistent', () => {
    const r = compileSite({
      organization: { config: { registrar: { minExpiresSec: 3600 } }, policies: {} },
      site: { config: { registrar: { maxExpiresSec: 60 } }, policies: {} },
      users: [],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toEqual([
      { path: 'config.registrar.minExpiresSec', message: 'must not exceed maxExpiresSec 60 (got 3600)' },
    ]);
  });

  it('names every enabled user whose domain the merged config does not serve', () => {
    const r = compileSite({
      organization: { config: { domains: ['example.com'] }, policies: {} },
      site: { config: { domains: ['a.example', 'B.example'] }, policies: {} },
      users: [
        user('alice', 'pw-alice-1', { domain: 'b.example' }),
        user('bob', 'pw-bob-12', { domain: 'example.com' }),
        user('carl', 'pw-carl-1', { domain: 'c.example', enabled: false }),
      ],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toEqual([
      {
        path: 'users.bob@example.com.domain',
        message: `"example.com" is not one of the site's domains (a.example, B.example)`,
      },
    ]);
    // Domains left to the agent's file: nothing to check against.
    expect(compileSite({ organization: empty, site: empty, users: [user('bob', 'pw-bob-12')] }).ok).toBe(
      true,
    );
  });

  it('reports schema violations with the path and the value found there', () => {
    const r = compileSite({
      organization: { config: { logLevel: 'loud' as never }, policies: {} },
      site: empty,
      users: [],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]?.path).toBe('config.logLevel');
    expect(r.issues[0]?.message).toContain('(got "loud")');
  });
});

describe('sameContent', () => {
  it('ignores key order, sees any value change', () => {
    const a = compiled({
      organization: { config: { logLevel: 'info', domains: ['x.example'] }, policies: {} },
    });
    const b = compiled({
      organization: { config: { domains: ['x.example'], logLevel: 'info' }, policies: {} },
    });
    const c = compiled({
      organization: { config: { domains: ['x.example'], logLevel: 'warn' }, policies: {} },
    });
    expect(sameContent(a, b)).toBe(true);
    expect(sameContent(a, c)).toBe(false);
  });
});

describe('diffContent', () => {
  const before = compiled({
    organization: {
      config: { logLevel: 'info', registrar: { maxExpiresSec: 3600 } },
      policies: { authenticate: ['INVITE'] },
    },
    users: [user('amy', 'old-password'), user('bob', 'bob-password')],
  });
  const after = compiled({
    organization: {
      config: { logLevel: 'debug', media: { portMin: 20000 } },
      policies: { authenticate: ['INVITE', 'MESSAGE'] },
    },
    users: [user('amy', 'new-password'), user('cat', 'cat-password')],
  });

  it('lists changed paths with before/after; lists compared whole; users keyed by username@domain', () => {
    const changes = diffContent(before, after);
    expect(changes).toEqual([
      { path: 'config.logLevel', kind: 'changed', before: 'info', after: 'debug' },
      { path: 'config.media', kind: 'added', after: { portMin: 20000 } },
      { path: 'config.registrar', kind: 'removed', before: { maxExpiresSec: 3600 } },
      { path: 'policies.authenticate', kind: 'changed', before: ['INVITE'], after: ['INVITE', 'MESSAGE'] },
      { path: 'users.amy@example.com.ha1.md5', kind: 'changed', before: HIDDEN, after: HIDDEN },
      { path: 'users.amy@example.com.ha1.sha256', kind: 'changed', before: HIDDEN, after: HIDDEN },
      {
        path: 'users.bob@example.com',
        kind: 'removed',
        before: expect.objectContaining({ username: 'bob' }),
      },
      { path: 'users.cat@example.com', kind: 'added', after: expect.objectContaining({ username: 'cat' }) },
    ]);
  });

  it('never prints an HA1', () => {
    const text = JSON.stringify(diffContent(before, after));
    for (const u of [...before.users, ...after.users]) {
      expect(text).not.toContain(u.ha1.md5);
      expect(text).not.toContain(u.ha1.sha256);
    }
    const shown = JSON.stringify(redactState({ version: 1, issuedAt: new Date(0).toISOString(), ...after }));
    for (const u of after.users) expect(shown).not.toContain(u.ha1.md5);
  });

  it('is empty between equal contents', () => {
    expect(diffContent(before, before)).toEqual([]);
  });
});
