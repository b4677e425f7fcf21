import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/db/schema/index.js';
import { appRouter } from '../../src/trpc/root.js';
import { type SignedIn, startTestControlPlane, type TestControlPlane } from '../helpers/control-plane.js';

/** Ids of organization A's objects, created once. */
interface Fixture {
  orgId: string;
  siteId: string;
  agentId: string;
  userId: string;
  rolloutId: string;
  invitationId: string;
  memberId: string;
}

type Needed = { role: Role; input: (f: Fixture) => unknown };

/**
 * Every procedure of the app router, with the lowest role that may call it and a valid input
 * against organization A. Procedures that are not about one organization are listed in
 * `NOT_ORGANIZATION_SCOPED` with the reason. A procedure in neither list fails the first test,
 * so a new procedure cannot ship without its access rule being tested here.
 */
const TABLE: Record<string, Needed> = {
  'organizations.getConfig': { role: 'viewer', input: (f) => ({ organizationId: f.orgId }) },
  'organizations.setConfig': {
    role: 'admin',
    input: (f) => ({ organizationId: f.orgId, config: { logLevel: 'info' } }),
  },
  'sites.list': { role: 'viewer', input: (f) => ({ organizationId: f.orgId }) },
  'sites.create': { role: 'admin', input: (f) => ({ organizationId: f.orgId, name: 'new site' }) },
  'sites.rename': { role: 'admin', input: (f) => ({ siteId: f.siteId, name: 'renamed' }) },
  'sites.delete': { role: 'admin', input: (f) => ({ siteId: f.siteId }) },
  'sites.getConfig': { role: 'viewer', input: (f) => ({ siteId: f.siteId }) },
  'sites.setConfig': { role: 'operator', input: (f) => ({ siteId: f.siteId, config: { logLevel: 'warn' } }) },
  'agents.list': { role: 'viewer', input: (f) => ({ organizationId: f.orgId }) },
  'agents.get': { role: 'viewer', input: (f) => ({ agentId: f.agentId }) },
  'agents.create': { role: 'admin', input: (f) => ({ siteId: f.siteId, name: 'another fw' }) },
  'agents.rename': { role: 'admin', input: (f) => ({ agentId: f.agentId, name: 'renamed fw' }) },
  'agents.delete': { role: 'admin', input: (f) => ({ agentId: f.agentId }) },
  'agents.revoke': { role: 'admin', input: (f) => ({ agentId: f.agentId }) },
  'agents.reissueEnrollment': { role: 'admin', input: (f) => ({ agentId: f.agentId }) },
  'agents.push': { role: 'operator', input: (f) => ({ agentId: f.agentId }) },
  'agents.diff': { role: 'viewer', input: (f) => ({ agentId: f.agentId, from: 1, to: 1 }) },
  'agents.rollback': { role: 'operator', input: (f) => ({ agentId: f.agentId, version: 1 }) },
  // Live queries to the agent (it is not connected here: the needed role gets PRECONDITION_FAILED).
  'live.registrations': { role: 'viewer', input: (f) => ({ agentId: f.agentId }) },
  'live.calls': { role: 'viewer', input: (f) => ({ agentId: f.agentId }) },
  'live.ladder': { role: 'viewer', input: (f) => ({ agentId: f.agentId, callId: 'c1@example.test' }) },
  'stats.series': {
    role: 'viewer',
    input: (f) => ({
      target: { scope: 'organization', organizationId: f.orgId },
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-01-02T00:00:00.000Z',
      bucket: 'hour',
    }),
  },
  'stats.recentCalls': { role: 'viewer', input: (f) => ({ siteId: f.siteId }) },
  'stats.worstSites': {
    role: 'viewer',
    input: (f) => ({
      organizationId: f.orgId,
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-01-08T00:00:00.000Z',
      by: 'asr',
    }),
  },
  'overview.sites': { role: 'viewer', input: (f) => ({ organizationId: f.orgId }) },
  'stats.recentSecurityEvents': {
    role: 'viewer',
    input: (f) => ({ target: { scope: 'site', siteId: f.siteId } }),
  },
  'sipUsers.list': { role: 'viewer', input: (f) => ({ siteId: f.siteId }) },
  'sipUsers.create': {
    role: 'operator',
    input: (f) => ({ siteId: f.siteId, username: 'eve', domain: 'a.example', password: { generate: true } }),
  },
  'sipUsers.update': { role: 'operator', input: (f) => ({ userId: f.userId, enabled: false }) },
  'sipUsers.resetPassword': {
    role: 'operator',
    input: (f) => ({ userId: f.userId, password: { generate: true } }),
  },
  'sipUsers.delete': { role: 'operator', input: (f) => ({ userId: f.userId }) },
  'rollouts.start': {
    role: 'admin',
    input: (f) => ({ organizationId: f.orgId, siteIds: [f.siteId], config: {} }),
  },
  'changes.preview': {
    role: 'viewer',
    input: (f) => ({ organizationId: f.orgId, siteIds: [f.siteId], config: { logLevel: 'debug' } }),
  },
  'rollouts.get': { role: 'viewer', input: (f) => ({ rolloutId: f.rolloutId }) },
  'rollouts.list': { role: 'viewer', input: (f) => ({ organizationId: f.orgId }) },
  'rollouts.advance': { role: 'admin', input: (f) => ({ rolloutId: f.rolloutId }) },
  'members.list': { role: 'viewer', input: (f) => ({ organizationId: f.orgId }) },
  'members.setRole': {
    role: 'admin',
    input: (f) => ({ organizationId: f.orgId, memberId: f.memberId, role: 'operator' }),
  },
  'members.remove': { role: 'admin', input: (f) => ({ organizationId: f.orgId, memberId: f.memberId }) },
  'invitations.create': {
    role: 'admin',
    input: (f) => ({ organizationId: f.orgId, email: 'x@a.test', role: 'viewer' }),
  },
  'invitations.list': { role: 'admin', input: (f) => ({ organizationId: f.orgId }) },
  'invitations.revoke': { role: 'admin', input: (f) => ({ invitationId: f.invitationId }) },
  'audit.list': { role: 'admin', input: (f) => ({ organizationId: f.orgId }) },
};

const NOT_ORGANIZATION_SCOPED: Record<string, string> = {
  'auth.signIn': 'public: signs in',
  'auth.signOut': 'own session only',
  'auth.me': 'own operator only',
  'auth.securityEvents': "own account's events only",
  'organizations.list': 'lists only the caller’s memberships (tenancy.test.ts)',
  'organizations.create': 'creates a new organization owned by the caller',
  'invitations.accept': 'bound to the invited email and a one-time token (members.test.ts)',
};

const LOWER: Record<Role, Role[]> = {
  viewer: [],
  operator: ['viewer'],
  admin: ['viewer', 'operator'],
  owner: ['viewer', 'operator', 'admin'],
};

type Api = SignedIn['api'];
function call(api: Api, path: string, input: unknown): Promise<unknown> {
  const [router, proc] = path.split('.') as [string, string];
  const fn = (api as unknown as Record<string, Record<string, (i: unknown) => Promise<unknown>>>)[router]![
    proc
  ]!;
  return fn(input);
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    if (e instanceof TRPCError) return e.code;
    throw e;
  }
}

describe(`every procedure checks tenant and role (${process.env['DATABASE_URL'] ? 'postgres' : 'pglite'})`, () => {
  let cp: TestControlPlane;
  let f: Fixture;
  const as: Partial<Record<Role | 'stranger' | 'strangerOperator', SignedIn>> = {};

  beforeAll(async () => {
    cp = await startTestControlPlane();
    const owner = await cp.operator('owner@a.test');
    const orgId = (await owner.api.organizations.create({ name: 'A' })).id;
    as.owner = owner;
    for (const role of ['admin', 'operator', 'viewer'] as const)
      as[role] = await cp.operator(`${role}@a.test`, [{ organizationId: orgId, role }]);
    // The stranger is an owner — of another organization.
    as.stranger = await cp.operator('owner@b.test');
    const orgB = (await as.stranger.api.organizations.create({ name: 'B' })).id;
    as.strangerOperator = await cp.operator('operator@b.test', [{ organizationId: orgB, role: 'operator' }]);
    const siteId = (await owner.api.sites.create({ organizationId: orgId, name: 'HQ' })).id;
    const agentId = (await owner.api.agents.create({ siteId, name: 'fw' })).agent.id;
    const user = await owner.api.sipUsers.create({
      siteId,
      username: 'amy',
      domain: 'a.example',
      password: { generate: true },
    });
    const rollout = await owner.api.rollouts.start({ organizationId: orgId, siteIds: [siteId], config: {} });
    const invitation = await owner.api.invitations.create({
      organizationId: orgId,
      email: 'new@a.test',
      role: 'viewer',
    });
    f = {
      orgId,
      siteId,
      agentId,
      userId: user.user.id,
      rolloutId: rollout.id,
      invitationId: invitation.id,
      memberId: as.viewer!.operator.id,
    };
  });
  afterAll(async () => {
    await cp?.close();
  });

  it('every procedure of the app router is in the table (or says why it is not organization-scoped)', () => {
    const paths = Object.keys(appRouter._def.procedures).sort();
    const covered = [...Object.keys(TABLE), ...Object.keys(NOT_ORGANIZATION_SCOPED)].sort();
    expect(paths).toEqual(covered);
  });

  it.each(Object.entries(TABLE))(
    '%s: another organization’s operator and owner get NOT_FOUND',
    async (path, rule) => {
      expect(await codeOf(call(as.strangerOperator!.api, path, rule.input(f)))).toBe('NOT_FOUND');
      expect(await codeOf(call(as.stranger!.api, path, rule.input(f)))).toBe('NOT_FOUND');
    },
  );

  it.each(Object.entries(TABLE).filter(([, r]) => LOWER[r.role].length > 0))(
    '%s: every role below the needed one gets FORBIDDEN',
    async (path, rule) => {
      for (const role of LOWER[rule.role])
        expect([role, await codeOf(call(as[role]!.api, path, rule.input(f)))]).toEqual([role, 'FORBIDDEN']);
    },
  );

  it.each(Object.entries(TABLE).filter(([p]) => /\.(list|get|getConfig|diff)$/.test(p)))(
    '%s: the needed role may read',
    async (path, rule) => {
      expect(await codeOf(call(as[rule.role]!.api, path, rule.input(f)))).toBe('OK');
    },
  );

  it('the fixture survived every refused call', async () => {
    const owner = as.owner!.api;
    expect((await owner.sites.list({ organizationId: f.orgId })).map((s) => s.name)).toEqual(['HQ']);
    expect((await owner.agents.get({ agentId: f.agentId })).name).toBe('fw');
    expect((await owner.sipUsers.list({ siteId: f.siteId })).map((u) => [u.username, u.enabled])).toEqual([
      ['amy', true],
    ]);
    expect((await owner.members.list({ organizationId: f.orgId })).map((m) => [m.email, m.role])).toEqual([
      ['admin@a.test', 'admin'],
      ['operator@a.test', 'operator'],
      ['owner@a.test', 'owner'],
      ['viewer@a.test', 'viewer'],
    ]);
    expect(await owner.invitations.list({ organizationId: f.orgId })).toHaveLength(1);
  });
});
