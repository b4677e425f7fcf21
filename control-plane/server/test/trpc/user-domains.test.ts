import type { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedIn, startTestControlPlane, type TestControlPlane } from '../helpers/control-plane.js';
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
});
