import { type DesiredState, DesiredStateSchema } from '@sipwall/shared';
import type { TRPCError } from '@trpc/server';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestConfigVersion } from '../../src/db/queries/config-versions.js';
import { createSite } from '../../src/db/queries/sites.js';
import { DomainError } from '../../src/errors.js';
import { type SignedIn, startTestControlPlane, type TestControlPlane } from '../helpers/control-plane.js';
import { insertStrandedUser } from '../helpers/fleet.js';
import { trpcError } from '../helpers/trpc-error.js';

const issuePaths = (e: TRPCError) =>
  (e.cause as unknown as { issues: { path: string; message: string }[] }).issues.map((i) => i.path);

/**
 * A change to SIP users or to a site's or the organization's config is written, audited and
 * versioned in one transaction: whatever step fails, nothing of it is stored. Failures are injected
 * with CHECK constraints (NOT VALID: existing rows stay) that refuse one audit action or one
 * agent's versions, so the step after the write fails the way a lost connection would.
 */
describe(`writes, audit entries and versions are atomic (${process.env['DATABASE_URL'] ? 'postgres' : 'pglite'})`, () => {
  let cp: TestControlPlane;
  let owner: SignedIn;
  /** A user with a generated password, through the API as the owner. */
  const createUser = (siteId: string, username: string, domain: string) =>
    owner.api.sipUsers.create({ siteId, username, domain, password: { generate: true } });
  let orgId: string;
  let siteA: string;
  let siteB: string;
  let agentsA: string[];
  let agentB: string;

  const state = async (agentId: string): Promise<DesiredState | null> => {
    const row = await latestConfigVersion(cp.database.db, { agentId });
    return row ? DesiredStateSchema.parse(row.payload) : null;
  };
  const versions = async (agentIds: string[]) =>
    Promise.all(agentIds.map(async (agentId) => (await state(agentId))?.version ?? null));
  const audits = async (action: string, organizationId = orgId) =>
    (await owner.api.audit.list({ organizationId, action, limit: 500 })).length;
  const usernames = async (siteId: string) =>
    (await owner.api.sipUsers.list({ siteId })).map((u) => u.username).sort();

  /** Adds a CHECK constraint for the duration of `fn`. */
  async function refusing<T>(table: string, check: string, fn: () => Promise<T>): Promise<T> {
    const db = cp.database.db;
    await db.execute(sql.raw(`ALTER TABLE ${table} ADD CONSTRAINT test_refuse CHECK (${check}) NOT VALID`));
    try {
      return await fn();
    } finally {
      await db.execute(sql.raw(`ALTER TABLE ${table} DROP CONSTRAINT test_refuse`));
    }
  }

  const newAgent = async (siteId: string, name: string) =>
    (await owner.api.agents.create({ siteId, name })).agent.id;

  beforeAll(async () => {
    cp = await startTestControlPlane();
    owner = await cp.operator('owner@atomic.test');
    orgId = (await owner.api.organizations.create({ name: 'atomic' })).id;
    siteA = (await owner.api.sites.create({ organizationId: orgId, name: 'A' })).id;
    siteB = (await owner.api.sites.create({ organizationId: orgId, name: 'B' })).id;
    // By id: the order of a site's agents in `pushed`.
    agentsA = [await newAgent(siteA, 'fw-a1'), await newAgent(siteA, 'fw-a2')].sort();
    agentB = await newAgent(siteB, 'fw-b');
    // A serves its own domain; B takes the organization's.
    await owner.api.organizations.setConfig({
      organizationId: orgId,
      config: { domains: ['example.com', 'b.example'] },
    });
    await owner.api.sites.setConfig({ siteId: siteA, config: { domains: ['example.com'] } });
    await createUser(siteA, 'alice', 'example.com');
    await createUser(siteB, 'bob', 'b.example');
  });
  afterAll(async () => {
    await cp?.close();
  });

  describe('SIP users', () => {
    it('a create whose audit entry fails stores no user and no version', async () => {
      const before = await versions(agentsA);
      const audited = await audits('sipUser.create');
      const e = await refusing('audit_log', `action <> 'sipUser.create'`, () =>
        trpcError(createUser(siteA, 'carol', 'example.com')),
      );
      expect(e.code).toBe('INTERNAL_SERVER_ERROR');
      expect(await usernames(siteA)).toEqual(['alice']);
      expect(await versions(agentsA)).toEqual(before);
      expect(await audits('sipUser.create')).toBe(audited);

      // Without the fault the same create goes through: user, audit entry and a version per agent.
      const r = await createUser(siteA, 'carol', 'example.com');
      expect(r.pushed).toEqual(
        agentsA.map((agentId, i) => ({ agentId, version: before[i]! + 1, changed: true })),
      );
      expect(await usernames(siteA)).toEqual(['alice', 'carol']);
      expect(await audits('sipUser.create')).toBe(audited + 1);
      expect((await state(agentsA[0]!))?.users.map((u) => u.username)).toEqual(['alice', 'carol']);
    });

    it('a create after which the site does not compile stores nothing; deleting the culprit is allowed', async () => {
      // An enabled user of a domain the site does not serve, written behind the API's back.
      const legacy = await insertStrandedUser(cp, siteA);
      const before = await versions(agentsA);
      const audited = await audits('sipUser.create');
      const e = await trpcError(createUser(siteA, 'dave', 'example.com'));
      expect(e.code).toBe('BAD_REQUEST');
      expect((e.cause as DomainError).code).toBe('invalid-input');
      expect(issuePaths(e)).toEqual(['users.legacy@c.example.domain']);
      expect(await usernames(siteA)).toEqual(['alice', 'carol', 'legacy']);
      expect(await versions(agentsA)).toEqual(before);
      expect(await audits('sipUser.create')).toBe(audited);

      const r = await owner.api.sipUsers.delete({ userId: legacy.id });
      // The stored versions never held the legacy user, so the content is unchanged.
      expect(r.pushed.map((p) => p.changed)).toEqual([false, false]);
      expect(await usernames(siteA)).toEqual(['alice', 'carol']);
    });

    it('the duplicate-user error is unchanged (CONFLICT on username), nothing is stored, and the next change works', async () => {
      const before = await versions(agentsA);
      const audited = await audits('sipUser.create');
      const e = await trpcError(createUser(siteA, 'alice', 'Example.COM'));
      expect(e.code).toBe('CONFLICT');
      expect(e.cause).toBeInstanceOf(DomainError);
      expect((e.cause as DomainError).code).toBe('conflict');
      expect(e.message).toBe('SIP user alice@example.com already exists in this site');
      expect(issuePaths(e)).toEqual(['username']);
      expect(await versions(agentsA)).toEqual(before);
      expect(await audits('sipUser.create')).toBe(audited);
      // The aborted transaction was rolled back, not left on a pooled connection.
      const ok = await createUser(siteA, 'erin', 'example.com');
      expect(ok.pushed.every((p) => p.changed)).toBe(true);
    });

    it('a delete whose audit entry fails keeps the user and the versions', async () => {
      const erin = (await owner.api.sipUsers.list({ siteId: siteA })).find((u) => u.username === 'erin')!;
      const before = await versions(agentsA);
      const audited = await audits('sipUser.delete');
      const e = await refusing('audit_log', `action <> 'sipUser.delete'`, () =>
        trpcError(owner.api.sipUsers.delete({ userId: erin.id })),
      );
      expect(e.code).toBe('INTERNAL_SERVER_ERROR');
      expect(await usernames(siteA)).toEqual(['alice', 'carol', 'erin']);
      expect(await versions(agentsA)).toEqual(before);
      expect(await audits('sipUser.delete')).toBe(audited);
    });

    it('two deletes of one user at once: one succeeds, the other is not-found, one audit entry', async () => {
      const erin = (await owner.api.sipUsers.list({ siteId: siteA })).find((u) => u.username === 'erin')!;
      const audited = await audits('sipUser.delete');
      const results = await Promise.allSettled([
        owner.api.sipUsers.delete({ userId: erin.id }),
        owner.api.sipUsers.delete({ userId: erin.id }),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect((failed.reason as TRPCError).code).toBe('NOT_FOUND');
      expect(await usernames(siteA)).toEqual(['alice', 'carol']);
      expect(await audits('sipUser.delete')).toBe(audited + 1);
    });

    it('concurrent creates in one site, with config changes of the site and the organization, all go through', async () => {
      const names = ['u1', 'u2', 'u3', 'u4', 'u5'];
      const results = await Promise.allSettled([
        ...names.map((username) => createUser(siteA, username, 'example.com')),
        owner.api.sites.setConfig({ siteId: siteA, config: { domains: ['example.com'], logLevel: 'info' } }),
        owner.api.organizations.setConfig({
          organizationId: orgId,
          policies: { bruteForce: { maxFailures: 7 } },
        }),
      ]);
      // A deadlock between two of them would reject one here.
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      expect(await usernames(siteA)).toEqual(['alice', 'carol', ...names]);
      // The latest version was compiled last, from everything committed.
      for (const agentId of agentsA) {
        const s = await state(agentId);
        expect(s?.users.map((u) => u.username)).toEqual(['alice', 'carol', ...names]);
        expect(s?.config.logLevel).toBe('info');
        expect(s?.policies.bruteForce?.maxFailures).toBe(7);
      }
    });
  });

  describe('site config', () => {
    it('a change that does not compile stores nothing: layer, audit and versions unchanged', async () => {
      const layer = (await owner.api.sites.getConfig({ siteId: siteA })).site;
      const before = await versions(agentsA);
      const audited = await audits('site.setConfig');
      const e = await trpcError(
        owner.api.sites.setConfig({ siteId: siteA, config: { domains: ['other.example'] } }),
      );
      expect(e.code).toBe('BAD_REQUEST');
      expect((e.cause as DomainError).code).toBe('invalid-input');
      expect(e.message).toMatch(/^the change makes site "A" invalid: users\.alice@example\.com\.domain: /);
      expect(issuePaths(e)).toContain('users.alice@example.com.domain');
      expect((await owner.api.sites.getConfig({ siteId: siteA })).site).toEqual(layer);
      expect(await versions(agentsA)).toEqual(before);
      expect(await audits('site.setConfig')).toBe(audited);
    });

    it.each([
      ['its audit entry', 'audit_log', (): string => `action <> 'site.setConfig'`],
      // Not even the other agent's version is stored.
      ['its versioning for one agent', 'config_versions', (): string => `agent_id <> '${agentsA[1]}'`],
    ] as const)('a change for which %s fails stores nothing', async (_what, table, check) => {
      const layer = (await owner.api.sites.getConfig({ siteId: siteA })).site;
      const before = await versions(agentsA);
      const audited = await audits('site.setConfig');
      const e = await refusing(table, check(), () =>
        trpcError(
          owner.api.sites.setConfig({
            siteId: siteA,
            config: { domains: ['example.com'], logLevel: 'debug' },
          }),
        ),
      );
      expect(e.code).toBe('INTERNAL_SERVER_ERROR');
      expect((await owner.api.sites.getConfig({ siteId: siteA })).site).toEqual(layer);
      expect(await versions(agentsA)).toEqual(before);
      expect(await audits('site.setConfig')).toBe(audited);
    });
  });

  describe('bulk change (rollout)', () => {
    it('a rollout whose versioning fails at one site stores no site layer of its chunk', async () => {
      const layers = await Promise.all(
        [siteA, siteB].map(async (siteId) => (await owner.api.sites.getConfig({ siteId })).site),
      );
      const before = await versions([...agentsA, agentB]);
      const e = await refusing('config_versions', `agent_id <> '${agentsA[1]}'`, () =>
        trpcError(
          owner.api.rollouts.start({
            organizationId: orgId,
            canarySiteIds: [],
            siteIds: [siteA, siteB],
            config: { logLevel: 'error' },
          }),
        ),
      );
      expect(e.code).toBe('INTERNAL_SERVER_ERROR');
      for (const [i, siteId] of [siteA, siteB].entries())
        expect((await owner.api.sites.getConfig({ siteId })).site).toEqual(layers[i]);
      expect(await versions([...agentsA, agentB])).toEqual(before);

      // Without the fault the same rollout stores the layers and versions every agent.
      const r = await owner.api.rollouts.start({
        organizationId: orgId,
        canarySiteIds: [],
        siteIds: [siteA, siteB],
        config: { logLevel: 'error' },
      });
      expect(r.state).toBe('completed');
      expect((await owner.api.sites.getConfig({ siteId: siteB })).site.config).toMatchObject({
        logLevel: 'error',
      });
      expect(await versions([...agentsA, agentB])).toEqual(before.map((v) => (v ?? 0) + 1));
    });
  });

  describe('organization config', () => {
    it('a change that makes one site invalid stores nothing for any site', async () => {
      const layer = await owner.api.organizations.getConfig({ organizationId: orgId });
      const before = await versions([...agentsA, agentB]);
      const audited = await audits('organization.setConfig');
      // A keeps its own domains; B would stop serving bob's.
      const e = await trpcError(
        owner.api.organizations.setConfig({
          organizationId: orgId,
          config: { domains: ['example.com'], logLevel: 'warn' },
        }),
      );
      expect(e.code).toBe('BAD_REQUEST');
      expect((e.cause as DomainError).code).toBe('invalid-input');
      expect(e.message).toMatch(/^the change makes site "B" invalid: users\.bob@b\.example\.domain: /);
      expect(await owner.api.organizations.getConfig({ organizationId: orgId })).toEqual(layer);
      expect(await versions([...agentsA, agentB])).toEqual(before);
      expect(await audits('organization.setConfig')).toBe(audited);
    });

    it('a change whose versioning fails at one site stores nothing for any site', async () => {
      const layer = await owner.api.organizations.getConfig({ organizationId: orgId });
      const before = await versions([...agentsA, agentB]);
      const audited = await audits('organization.setConfig');
      const e = await refusing('config_versions', `agent_id <> '${agentB}'`, () =>
        trpcError(
          // A policy: no site overrides it, so every agent's content changes.
          owner.api.organizations.setConfig({
            organizationId: orgId,
            policies: { bruteForce: { maxFailures: 5 } },
          }),
        ),
      );
      expect(e.code).toBe('INTERNAL_SERVER_ERROR');
      expect(await owner.api.organizations.getConfig({ organizationId: orgId })).toEqual(layer);
      expect(await versions([...agentsA, agentB])).toEqual(before);
      expect(await audits('organization.setConfig')).toBe(audited);
    });

    it('a change that goes through versions every agent of every site, with one audit entry', async () => {
      const layer = await owner.api.organizations.getConfig({ organizationId: orgId });
      const before = await versions([...agentsA, agentB]);
      const audited = await audits('organization.setConfig');
      const r = await owner.api.organizations.setConfig({
        organizationId: orgId,
        policies: { bruteForce: { maxFailures: 4 } },
      });
      // Site order as listed (by name), agents by id within a site.
      expect(r.pushed).toEqual(
        [...agentsA, agentB].map((agentId, i) => ({ agentId, version: before[i]! + 1, changed: true })),
      );
      for (const agentId of [...agentsA, agentB])
        expect((await state(agentId))?.policies.bruteForce?.maxFailures).toBe(4);
      expect(await audits('organization.setConfig')).toBe(audited + 1);
      const [entry] = await owner.api.audit.list({ organizationId: orgId, action: 'organization.setConfig' });
      expect(entry?.detail).toMatchObject({
        before: layer,
        after: { config: layer.config, policies: { bruteForce: { maxFailures: 4 } } },
      });
    });
  });

  describe('an organization with more sites than one versioning chunk (250)', () => {
    let bigOrg: string;
    let first: string;
    let last: string;

    beforeAll(async () => {
      bigOrg = (await owner.api.organizations.create({ name: 'big' })).id;
      const ids: string[] = [];
      for (let i = 0; i < 260; i++)
        ids.push((await createSite(cp.database.db, { organizationId: bigOrg, name: `s${i}` })).id);
      ids.sort();
      // Agents at both ends of the id order: their sites are versioned in different chunks.
      first = await newAgent(ids[0]!, 'fw-first');
      last = await newAgent(ids[ids.length - 1]!, 'fw-last');
    });

    it('a failure in the last chunk stores nothing, not even the first chunk’s versions', async () => {
      const e = await refusing('config_versions', `agent_id <> '${last}'`, () =>
        trpcError(
          owner.api.organizations.setConfig({ organizationId: bigOrg, config: { logLevel: 'warn' } }),
        ),
      );
      expect(e.code).toBe('INTERNAL_SERVER_ERROR');
      expect(await versions([first, last])).toEqual([null, null]);
      expect((await owner.api.organizations.getConfig({ organizationId: bigOrg })).config).toEqual({});
      expect(await audits('organization.setConfig', bigOrg)).toBe(0);
    });

    it('a change that goes through versions the agents of both chunks', async () => {
      const r = await owner.api.organizations.setConfig({
        organizationId: bigOrg,
        config: { logLevel: 'warn' },
      });
      expect(r.pushed.map((p) => p.agentId).sort()).toEqual([first, last].sort());
      expect(r.pushed.every((p) => p.version === 1 && p.changed)).toBe(true);
      expect(await versions([first, last])).toEqual([1, 1]);
      expect((await state(last))?.config.logLevel).toBe('warn');
      expect(await audits('organization.setConfig', bigOrg)).toBe(1);
    });
  });
});
