import { AgentConfigSchema, DesiredStateSchema, type DesiredStateInput } from '@sipwall/shared';
import { describe, expect, it } from 'vitest';
import { desiredFixture, fileConfigFixture } from '../../test/sync/fixtures.js';
import { decideDesired } from './desired-decision.js';
import { mergeDesired } from './merge-desired.js';

const HA1 = (c: string) => ({ md5: c.repeat(32) });

/** The fixture file config with two users and non-default policies of its own. */
function fileWithUsersAndPolicies() {
  const base = fileConfigFixture();
  return AgentConfigSchema.parse({
    ...base,
    users: [
      { username: 'bob', domain: 'file.test', ha1: HA1('b') },
      { username: 'alice', domain: 'File.Test', ha1: HA1('1') },
    ],
    policies: {
      authenticate: ['INVITE', 'MESSAGE'],
      dropUserAgents: ['evil-scanner'],
      bruteForce: { maxFailures: 3, windowSec: 30, blockSec: 600 },
      callAdmission: { maxConcurrentCallsPerUser: 2 },
    },
    sip: { ...base.sip, proxy: { ...base.sip.proxy, outboundProxy: 'proxy.file.test:5070' } },
  });
}

const merge = (overrides: Partial<DesiredStateInput>) => {
  const file = fileWithUsersAndPolicies();
  const r = mergeDesired(file, DesiredStateSchema.parse(desiredFixture(3, overrides)));
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return { file, merged: r.value };
};

describe('mergeDesired (the desired-state contract)', () => {
  it('a push that changes only the log level keeps every file user and policy', () => {
    const { file, merged } = merge({ config: { logLevel: 'warn' }, users: [], policies: {} });
    expect(merged.log.level).toBe('warn');
    expect(merged.users).toEqual(file.users);
    expect(merged.policies).toEqual(file.policies);
    expect(merged.sip.domains).toEqual(['file.test']);
    expect(merged.sip.proxy.outboundProxy).toBe('proxy.file.test:5070');
  });

  it('users are the file users plus the desired ones; desired wins on the same username@domain', () => {
    const { merged } = merge({
      config: {},
      users: [
        { username: 'alice', domain: 'file.test', ha1: HA1('2') },
        { username: 'carol', domain: 'file.test', ha1: HA1('c') },
      ],
    });
    const byName = Object.fromEntries(merged.users.map((u) => [u.username, u.ha1.md5]));
    expect(byName).toEqual({ bob: 'b'.repeat(32), alice: '2'.repeat(32), carol: 'c'.repeat(32) });
  });

  it('policies are a patch: nested objects field by field, lists whole, absent keeps', () => {
    const { file, merged } = merge({
      config: {},
      policies: { bruteForce: { maxFailures: 7 }, dropUserAgents: ['x'], sessionTimer: { enabled: false } },
    });
    expect(merged.policies.bruteForce).toEqual({ maxFailures: 7, windowSec: 30, blockSec: 600 });
    expect(merged.policies.dropUserAgents).toEqual(['x']);
    expect(merged.policies.sessionTimer).toEqual({ ...file.policies.sessionTimer, enabled: false });
    expect(merged.policies.authenticate).toEqual(['INVITE', 'MESSAGE']);
    expect(merged.policies.callAdmission).toEqual(file.policies.callAdmission);
  });

  it('managed fields present replace: domains, registrar, auth, outbound proxy, media range', () => {
    const { file, merged } = merge({
      config: {
        domains: ['managed.test'],
        registrar: { maxExpiresSec: 1800 },
        auth: { algorithms: ['SHA-256', 'MD5'], domainAlgorithms: {} },
        outboundProxy: 'sbc.managed.test',
        media: { portMin: 30_000, portMax: 30_999 },
      },
    });
    expect(merged.sip.domains).toEqual(['managed.test']);
    expect(merged.sip.registrar).toMatchObject({ minExpiresSec: 60, maxExpiresSec: 1800 });
    expect(merged.sip.auth.algorithms).toEqual(['SHA-256', 'MD5']);
    expect(merged.sip.proxy.outboundProxy).toBe('sbc.managed.test');
    expect(merged.media).toEqual({ ...file.media, portMin: 30_000, portMax: 30_999 });
    expect(merged.sip.interfaces).toEqual(file.sip.interfaces);
    expect(merged.site).toBe('lab');
  });

  it('outboundProxy null clears the file value', () => {
    const { merged } = merge({ config: { outboundProxy: null } });
    expect(merged.sip.proxy.outboundProxy).toBeUndefined();
    expect('outboundProxy' in merged.sip.proxy).toBe(false);
  });

  it('refuses a combination that is invalid as a whole, naming the field', () => {
    const file = fileConfigFixture();
    const r1 = mergeDesired(
      file,
      DesiredStateSchema.parse(desiredFixture(2, { config: { registrar: { minExpiresSec: 7200 } } })),
    );
    expect(!r1.ok && r1.error.map((i) => i.path)).toContain('sip.registrar.minExpiresSec');
    const r2 = mergeDesired(
      file,
      DesiredStateSchema.parse(desiredFixture(2, { config: { media: { portMin: 40_000 } } })),
    );
    expect(!r2.ok && r2.error.map((i) => i.path)).toContain('media.portMin');
  });

  it('takes the early-media policy from the control plane; the schema refuses another value', () => {
    const r = mergeDesired(
      fileConfigFixture(),
      DesiredStateSchema.parse(desiredFixture(2, { config: { media: { earlyMedia: 'offer' } } })),
    );
    expect(r.ok && r.value.media.earlyMedia).toBe('offer');
    const bad = DesiredStateSchema.safeParse(
      desiredFixture(2, { config: { media: { earlyMedia: 'ring' as 'answer' } } }),
    );
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toContain('config.media.earlyMedia');
  });
});

describe('decideDesired', () => {
  const file = fileConfigFixture();
  const state = (appliedVersion: number | null, extra: object = {}) => ({
    fileConfig: file,
    running: file,
    appliedVersion,
    ...extra,
  });
  const payload = (v: unknown) => JSON.stringify(v);

  it('applies a newer valid version', () => {
    expect(decideDesired(payload(desiredFixture(2)), state(1)).kind).toBe('apply');
    expect(decideDesired(payload(desiredFixture(1)), state(null)).kind).toBe('apply');
  });

  it('treats the applied version as a duplicate and an older one as stale', () => {
    expect(decideDesired(payload(desiredFixture(2)), state(2))).toEqual({ kind: 'duplicate', version: 2 });
    expect(decideDesired(payload(desiredFixture(1)), state(2))).toEqual({
      kind: 'stale',
      version: 1,
      appliedVersion: 2,
    });
  });

  it('does not re-apply a reverted version, applies a later one', () => {
    expect(decideDesired(payload(desiredFixture(5)), state(4, { revertedVersion: 5 }))).toEqual({
      kind: 'reverted',
      version: 5,
      revertedVersion: 5,
    });
    expect(decideDesired(payload(desiredFixture(6)), state(4, { revertedVersion: 5 })).kind).toBe('apply');
  });

  it('rejects an invalid payload naming the field and the version', () => {
    const d = decideDesired(payload(desiredFixture(4, { config: { domains: ['bad domain!'] } })), state(1));
    expect(d).toMatchObject({ kind: 'reject', rejectedVersion: 4 });
    expect(d.kind === 'reject' && d.errors.map((e) => e.path)).toContain('config.domains.0');
  });

  it('rejects a document a layer refuses, before anything is applied', () => {
    // Valid for the schema, refused by the media layer: no even/odd pair in 20001–20002.
    const d = decideDesired(
      payload(desiredFixture(4, { config: { media: { portMin: 20_001, portMax: 20_002 } } })),
      state(1),
    );
    expect(d).toMatchObject({ kind: 'reject', rejectedVersion: 4 });
    expect(d.kind === 'reject' && d.errors).toEqual([
      { path: 'media.portMin', message: 'no even/odd port pair in 20001–20002' },
    ]);
  });

  it('refuses a media range change while the nftables driver runs, naming the field', () => {
    const nft = AgentConfigSchema.parse({ ...file, media: { ...file.media, driver: 'nftables' } });
    const d = decideDesired(
      payload(desiredFixture(4, { config: { media: { portMin: 30_000, portMax: 31_000 } } })),
      {
        fileConfig: nft,
        running: nft,
        appliedVersion: 1,
      },
    );
    expect(d.kind === 'reject' && d.errors[0]?.path).toBe('media.portMin');
    expect(d.kind === 'reject' && d.errors[0]?.message).toMatch(/restart the agent/);
  });

  it('refuses a change of what cannot change live (listening interfaces)', () => {
    const running = AgentConfigSchema.parse({
      ...file,
      sip: { ...file.sip, interfaces: [{ ...file.sip.interfaces[0]!, port: 5999 }] },
    });
    const d = decideDesired(payload(desiredFixture(4)), { fileConfig: file, running, appliedVersion: 1 });
    expect(d.kind === 'reject' && d.errors.map((e) => e.path)).toEqual(['sip.interfaces']);
  });

  it('rejects non-JSON without a version', () => {
    const d = decideDesired('{nope', state(1));
    expect(d.kind).toBe('reject');
    expect(d.kind === 'reject' && d.rejectedVersion).toBeUndefined();
  });
});
