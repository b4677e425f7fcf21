import { createHash } from 'node:crypto';
import { type DesiredState, DesiredStateSchema } from '@sipwall/shared';
import type { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestConfigVersion, listConfigVersions } from '../../src/db/queries/config-versions.js';
import type { DomainError } from '../../src/errors.js';
import { type SignedIn, startTestControlPlane, type TestControlPlane } from '../helpers/control-plane.js';
import { enrolledAgent } from '../helpers/fleet.js';
import { trpcError } from '../helpers/trpc-error.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

const issuePaths = (e: TRPCError) =>
  (e.cause as unknown as { issues: { path: string; message: string }[] }).issues.map((i) => i.path);

/**
 * A rollback restores an earlier version's config and policies, never its SIP users: a user deleted
 * or disabled since, or an old password, must not come back on the agent.
 */
describe(`rollback keeps the current SIP users (${process.env['DATABASE_URL'] ? 'postgres' : 'pglite'})`, () => {
  let cp: TestControlPlane;
  let owner: SignedIn;
  let op: SignedIn;
  let orgId: string;
  let siteId: string;
  let agentId: string;
  const users: Record<string, string> = {};

  /** The stored desired state of a version (HA1s included: read from the database). */
  const stored = async (version?: number): Promise<DesiredState> => {
    const row =
      version === undefined
        ? await latestConfigVersion(cp.database.db, { agentId })
        : (await listConfigVersions(cp.database.db, { agentId })).find((r) => r.version === version);
    return DesiredStateSchema.parse(row!.payload);
  };

  beforeAll(async () => {
    cp = await startTestControlPlane();
    owner = await cp.operator('owner@rollback.test');
    orgId = (await owner.api.organizations.create({ name: 'rollback' })).id;
    op = await cp.operator('op@rollback.test', [{ organizationId: orgId, role: 'operator' }]);
    siteId = (await owner.api.sites.create({ organizationId: orgId, name: 'R' })).id;
    agentId = (await enrolledAgent(cp, owner, siteId, 'fw-r')).agentId;
  });
  afterAll(async () => {
    await cp?.close();
  });

  let old: DesiredState;

  it('builds up a version with config, policies and three users', async () => {
    await owner.api.sites.setConfig({
      siteId,
      config: { logLevel: 'info', domains: ['example.com'] },
      policies: { bruteForce: { maxFailures: 3 } },
    });
    for (const [username, password] of [
      ['alice', 'alice-password-1'],
      ['bob', 'bob-password-1'],
      ['carol', 'carol-password-1'],
    ] as const) {
      const r = await op.api.sipUsers.create({
        siteId,
        username,
        domain: 'example.com',
        password: { password },
      });
      users[username] = r.user.id;
    }
    old = await stored();
    expect(old.users.map((u) => u.username)).toEqual(['alice', 'bob', 'carol']);
  });

  it('rolling back to it restores its config and policies, with the users as they are now', async () => {
    // The bad change an operator wants to undo, and the credential changes they want kept.
    await owner.api.sites.setConfig({
      siteId,
      config: { logLevel: 'debug', domains: ['example.com'] },
      policies: { bruteForce: { maxFailures: 10 } },
    });
    await op.api.sipUsers.delete({ userId: users['bob']! });
    await op.api.sipUsers.update({ userId: users['carol']!, enabled: false });
    await op.api.sipUsers.resetPassword({
      userId: users['alice']!,
      password: { password: 'alice-password-2' },
    });
    const now = await stored();
    expect(now.users.map((u) => u.username)).toEqual(['alice']);

    const r = await op.api.agents.rollback({ agentId, version: old.version });
    expect(r).toEqual({ agentId, version: now.version + 1, changed: true });
    const rolled = await stored();
    expect(rolled.version).toBe(r.version);
    expect(rolled.config).toEqual(old.config);
    expect(rolled.config.logLevel).toBe('info');
    expect(rolled.policies).toEqual(old.policies);
    // Deleted bob and disabled carol stay away; alice has her new password only.
    expect(rolled.users).toEqual(now.users);
    expect(rolled.users.map((u) => u.username)).toEqual(['alice']);
    expect(rolled.users[0]!.ha1.md5).toBe(md5('alice:example.com:alice-password-2'));
    expect(JSON.stringify(rolled)).not.toContain(md5('alice:example.com:alice-password-1'));
    expect(JSON.stringify(rolled)).not.toContain(md5('bob:example.com:bob-password-1'));

    // From the current version, the rollback changes config and policies only.
    const d = await op.api.agents.diff({ agentId, from: now.version, to: rolled.version });
    expect(d.changes.map((c) => c.path)).toEqual(['config.logLevel', 'policies.bruteForce.maxFailures']);

    // The audit says what was restored and that the users were kept.
    const [entry] = await owner.api.audit.list({ organizationId: orgId, action: 'agent.rollback' });
    expect(entry?.detail).toMatchObject({
      configAndPoliciesOf: old.version,
      users: 'current',
      version: rolled.version,
      changed: true,
    });

    // Again: the latest already has that content, so nothing new.
    expect(await op.api.agents.rollback({ agentId, version: old.version })).toEqual({ ...r, changed: false });
  });

  it('a rollback whose config would not serve a current user is refused, and nothing is stored', async () => {
    await owner.api.sites.setConfig({
      siteId,
      config: { logLevel: 'debug', domains: ['example.com', 'other.example'] },
    });
    await op.api.sipUsers.create({
      siteId,
      username: 'dave',
      domain: 'other.example',
      password: { generate: true },
    });
    const before = await stored();
    const e = await trpcError(op.api.agents.rollback({ agentId, version: old.version }));
    expect(e.code).toBe('BAD_REQUEST');
    expect((e.cause as DomainError).code).toBe('invalid-input');
    expect(issuePaths(e)).toEqual(['users.dave@other.example.domain']);
    expect(e.message).toContain(`version ${old.version}`);
    expect((await stored()).version).toBe(before.version);
  });
});
