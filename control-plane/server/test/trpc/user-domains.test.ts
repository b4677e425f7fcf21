import type { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestConfigVersion } from '../../src/db/queries/config-versions.js';
import { DomainError } from '../../src/errors.js';
import { type SignedIn, startTestControlPlane, type TestControlPlane } from '../helpers/control-plane.js';
import { enrolledAgent, insertStrandedUser } from '../helpers/fleet.js';
import { trpcError } from '../helpers/trpc-error.js';

const issuePaths = (e: TRPCError) =>
  (e.cause as unknown as { issues: { path: string; message: string }[] }).issues.map((i) => i.path);

describe(`SIP users belong to a domain the site serves (${process.env['DATABASE_URL'] ? 'postgres' : 'pglite'})`, () => {
  let cp: TestControlPlane;
  let owner: SignedIn;
  let orgId: string;
  let site: string;

  beforeAll(async () => {
    cp = await startTestControlPlane();
    owner = await cp.operator('owner@domains.test');
    orgId = (await owner.api.organizations.create({ name: 'domains' })).id;
    site = (await owner.api.sites.create({ organizationId: orgId, name: 'S' })).id;
  });
  afterAll(async () => {
    await cp?.close();
  });

  it('while the domains are left to the agent file, any domain is taken', async () => {
    const r = await owner.api.sipUsers.create({
      siteId: site,
      username: 'early',
      domain: 'anything.example',
      password: { generate: true },
    });
    expect(r.user.domain).toBe('anything.example');
    await owner.api.sipUsers.delete({ userId: r.user.id });
  });

  it('a user of another domain is refused, naming the field and the served domains; case does not matter', async () => {
    await owner.api.sites.setConfig({ siteId: site, config: { domains: ['a.example', 'b.example'] } });
    const e = await trpcError(
      owner.api.sipUsers.create({
        siteId: site,
        username: 'zed',
        domain: 'c.example',
        password: { generate: true },
      }),
    );
    expect(e.code).toBe('BAD_REQUEST');
    expect(issuePaths(e)).toEqual(['domain']);
    expect(e.message).toContain('"c.example" is not one of the site\'s domains (a.example, b.example)');
    expect(await owner.api.sipUsers.list({ siteId: site })).toEqual([]);

    const ok = await owner.api.sipUsers.create({
      siteId: site,
      username: 'alice',
      domain: 'B.Example',
      password: { generate: true },
    });
    expect(ok.user.domain).toBe('b.example');
  });

  it('a config change that would strand a user is refused, and the stored config stays', async () => {
    const e = await trpcError(
      owner.api.sites.setConfig({ siteId: site, config: { domains: ['a.example'] } }),
    );
    expect(e.code).toBe('BAD_REQUEST');
    expect(issuePaths(e)).toEqual(['users.alice@b.example.domain']);
    expect((await owner.api.sites.getConfig({ siteId: site })).site.config.domains).toEqual([
      'a.example',
      'b.example',
    ]);
    // The organization's layer counts too when the site has no domains of its own.
    await owner.api.sites.setConfig({ siteId: site, config: {} });
    const orgWide = await trpcError(
      owner.api.organizations.setConfig({ organizationId: orgId, config: { domains: ['a.example'] } }),
    );
    expect(orgWide.code).toBe('BAD_REQUEST');
    expect(issuePaths(orgWide)).toEqual(['users.alice@b.example.domain']);
    await owner.api.organizations.setConfig({ organizationId: orgId, config: { domains: ['b.example'] } });
    expect((await owner.api.organizations.getConfig({ organizationId: orgId })).config.domains).toEqual([
      'b.example',
    ]);
  });

  describe('updating a user of a domain the site no longer serves', () => {
    let other: string;
    let agentId: string;
    let bob: string;
    const latestVersion = async () =>
      (await latestConfigVersion(cp.database.db, { agentId }))?.version ?? null;
    const bobRow = async () => (await owner.api.sipUsers.list({ siteId: other })).find((u) => u.id === bob);
    const updates = async () =>
      (await owner.api.audit.list({ organizationId: orgId })).filter(
        (e) => e.target === bob && e.action.startsWith('sipUser.'),
      ).length;

    beforeAll(async () => {
      other = (await owner.api.sites.create({ organizationId: orgId, name: 'T' })).id;
      agentId = (await enrolledAgent(cp, owner, other, 'fw-t')).agentId;
      await owner.api.sites.setConfig({ siteId: other, config: { domains: ['a.example', 'b.example'] } });
      bob = (
        await owner.api.sipUsers.create({
          siteId: other,
          username: 'bob',
          domain: 'b.example',
          displayName: 'Bob',
          password: { generate: true },
        })
      ).user.id;
      // Disabled, the user no longer holds the domain: the site may stop serving it.
      await owner.api.sipUsers.update({ userId: bob, enabled: false });
      await owner.api.sites.setConfig({ siteId: other, config: { domains: ['a.example'] } });
    });

    it('enabling it is refused like a create (invalid-input on domain), and nothing is stored', async () => {
      const version = await latestVersion();
      const audited = await updates();
      const e = await trpcError(
        owner.api.sipUsers.update({ userId: bob, enabled: true, displayName: 'Bob B.' }),
      );
      expect(e.code).toBe('BAD_REQUEST');
      expect(e.cause).toBeInstanceOf(DomainError);
      expect((e.cause as DomainError).code).toBe('invalid-input');
      expect(issuePaths(e)).toEqual(['domain']);
      expect(e.message).toContain('"b.example" is not one of the site\'s domains (a.example)');
      expect(await bobRow()).toMatchObject({ enabled: false, displayName: 'Bob' });
      expect(await latestVersion()).toBe(version);
      expect(await updates()).toBe(audited);
      // The site still compiles: a push is a no-op, not an error.
      expect((await owner.api.agents.push({ agentId })).changed).toBe(false);
    });

    it('while it stays disabled it may still be changed (name, password)', async () => {
      const r = await owner.api.sipUsers.update({ userId: bob, displayName: 'Bob B.' });
      expect(r.user).toMatchObject({ enabled: false, displayName: 'Bob B.' });
      const reset = await owner.api.sipUsers.resetPassword({ userId: bob, password: { generate: true } });
      expect(reset.user.enabled).toBe(false);
      expect(await bobRow()).toMatchObject({ enabled: false, displayName: 'Bob B.' });
    });

    it('once the site serves the domain again, enabling works', async () => {
      await owner.api.sites.setConfig({ siteId: other, config: { domains: ['a.example', 'b.example'] } });
      const r = await owner.api.sipUsers.update({ userId: bob, enabled: true });
      expect(r.user.enabled).toBe(true);
      expect(r.pushed).toEqual([{ agentId, version: expect.any(Number), changed: true }]);
    });

    it('a change after which the site does not compile stores nothing (write, audit and versioning are one transaction)', async () => {
      // A stranded, enabled user written behind the API's back (as if from before the domain rule):
      // the site no longer compiles, so any change to its users is refused.
      const legacy = await insertStrandedUser(cp, other);
      const version = await latestVersion();
      const audited = await updates();
      const e = await trpcError(owner.api.sipUsers.update({ userId: bob, enabled: false, displayName: 'B' }));
      expect(e.code).toBe('BAD_REQUEST');
      expect((e.cause as DomainError).code).toBe('invalid-input');
      expect(issuePaths(e)).toEqual(['users.legacy@c.example.domain']);
      expect(await bobRow()).toMatchObject({ enabled: true, displayName: 'Bob B.' });
      expect(await latestVersion()).toBe(version);
      expect(await updates()).toBe(audited);
      // Disabling the stranded user itself is how to get out of it.
      await owner.api.sipUsers.update({ userId: legacy.id, enabled: false });
      expect((await owner.api.sipUsers.update({ userId: bob, displayName: 'B' })).user.displayName).toBe('B');
    });
  });
});
