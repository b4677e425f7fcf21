import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedIn, startTestControlPlane, type TestControlPlane } from '../helpers/control-plane.js';
import { trpcError } from '../helpers/trpc-error.js';

describe(`tRPC tenancy and roles (${process.env['DATABASE_URL'] ? 'postgres' : 'pglite'})`, () => {
  let cp: TestControlPlane;
  let alice: SignedIn; // owner of A
  let bob: SignedIn; // owner of B
  let vera: SignedIn; // viewer of A
  let orgA: string;
  let orgB: string;
  let siteA: string;
  let siteB: string;
  let agentB: string;

  beforeAll(async () => {
    cp = await startTestControlPlane();
    alice = await cp.operator('alice@a.test');
    bob = await cp.operator('bob@b.test');
    orgA = (await alice.api.organizations.create({ name: 'A corp' })).id;
    orgB = (await bob.api.organizations.create({ name: 'B corp' })).id;
    vera = await cp.operator('vera@a.test', [{ organizationId: orgA, role: 'viewer' }]);
    siteA = (await alice.api.sites.create({ organizationId: orgA, name: 'HQ' })).id;
    siteB = (await bob.api.sites.create({ organizationId: orgB, name: 'Branch' })).id;
    agentB = (await bob.api.agents.create({ siteId: siteB, name: 'fw-b' })).agent.id;
  });
  afterAll(async () => {
    await cp?.close();
  });

  it('signIn sets an HttpOnly SameSite=Strict session cookie; me() resolves it', async () => {
    expect(alice.cookie).toMatch(/^sipwall_session=.+/);
    expect(await alice.api.auth.me()).toMatchObject({ email: 'alice@a.test' });
    expect(await (await cp.caller()).auth.me()).toBeNull();
  });

  it('wrong password → UNAUTHORIZED', async () => {
    const anon = await cp.caller();
    const e = await trpcError(anon.auth.signIn({ email: 'alice@a.test', password: 'nope' }));
    expect(e.code).toBe('UNAUTHORIZED');
    const e2 = await trpcError(anon.auth.signIn({ email: 'nobody@a.test', password: 'nope' }));
    expect(e2.code).toBe('UNAUTHORIZED');
  });

  it('unauthenticated calls are refused', async () => {
    const anon = await cp.caller();
    expect((await trpcError(anon.organizations.list())).code).toBe('UNAUTHORIZED');
  });

  it('signOut ends the session', async () => {
    const temp = await cp.operator('temp@a.test');
    await temp.api.auth.signOut();
    expect(await (await cp.caller(temp.cookie)).auth.me()).toBeNull();
  });

  it('organizations.list shows only memberships', async () => {
    expect((await alice.api.organizations.list()).map((o) => o.name)).toEqual(['A corp']);
    expect((await bob.api.organizations.list()).map((o) => o.name)).toEqual(['B corp']);
    expect(await vera.api.organizations.list()).toEqual([
      expect.objectContaining({ id: orgA, role: 'viewer' }),
    ]);
  });

  it("an operator of A cannot list, get or mutate B's sites and agents (NOT_FOUND)", async () => {
    const api = alice.api;
    expect((await trpcError(api.sites.list({ organizationId: orgB }))).code).toBe('NOT_FOUND');
    expect((await trpcError(api.sites.create({ organizationId: orgB, name: 'x' }))).code).toBe('NOT_FOUND');
    expect((await trpcError(api.agents.list({ organizationId: orgB }))).code).toBe('NOT_FOUND');
    expect((await trpcError(api.agents.get({ agentId: agentB }))).code).toBe('NOT_FOUND');
    expect((await trpcError(api.agents.create({ siteId: siteB, name: 'evil' }))).code).toBe('NOT_FOUND');
    const push = api.sites.setConfig({ siteId: siteB, config: { logLevel: 'debug' } });
    expect((await trpcError(push)).code).toBe('NOT_FOUND');
    // And B's data is untouched.
    expect(await bob.api.agents.list({ organizationId: orgB })).toHaveLength(1);
    expect((await bob.api.agents.get({ agentId: agentB })).configVersions).toEqual([]);
  });

  it('a viewer can read but not mutate (FORBIDDEN)', async () => {
    expect(await vera.api.sites.list({ organizationId: orgA })).toHaveLength(1);
    expect((await trpcError(vera.api.sites.create({ organizationId: orgA, name: 'x' }))).code).toBe(
      'FORBIDDEN',
    );
    expect((await trpcError(vera.api.agents.create({ siteId: siteA, name: 'x' }))).code).toBe('FORBIDDEN');
  });

  it('agents.create returns a one-time token and a valid id; config changes store versions', async () => {
    const created = await alice.api.agents.create({ siteId: siteA, name: 'fw-a' });
    expect(created.agent.id).toMatch(/^ag-[a-z2-7]{12}$/);
    expect(created.enrollmentToken.length).toBeGreaterThanOrEqual(32);
    const v1 = await alice.api.sites.setConfig({ siteId: siteA, config: { logLevel: 'info' } });
    const v2 = await alice.api.sites.setConfig({ siteId: siteA, config: { logLevel: 'warn' } });
    const same = await alice.api.sites.setConfig({ siteId: siteA, config: { logLevel: 'warn' } });
    expect([v1, v2, same].map((r) => r.pushed)).toEqual([
      [{ agentId: created.agent.id, version: 1, changed: true }],
      [{ agentId: created.agent.id, version: 2, changed: true }],
      [{ agentId: created.agent.id, version: 2, changed: false }],
    ]);
    const got = await alice.api.agents.get({ agentId: created.agent.id });
    expect(got.configVersions.map((v) => v.version)).toEqual([2, 1]);
    const [listed] = (await alice.api.agents.list({ organizationId: orgA })).filter(
      (a) => a.id === created.agent.id,
    );
    expect(listed).toMatchObject({
      siteId: siteA,
      siteName: 'HQ',
      online: false,
      desiredVersion: 2,
      appliedVersion: null,
    });
    // Viewer cannot change config.
    const push = vera.api.sites.setConfig({ siteId: siteA, config: {} });
    expect((await trpcError(push)).code).toBe('FORBIDDEN');
  });

  it('bad input → BAD_REQUEST with flattened issue paths', async () => {
    const resp = await fetch(`${cp.url}/trpc/sites.create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: alice.cookie },
      body: JSON.stringify({ organizationId: 'not-a-uuid', name: '' }),
    });
    expect(resp.status).toBe(400);
    const body = (await resp.json()) as { error: { data: { code: string; issues: { path: string }[] } } };
    expect(body.error.data.code).toBe('BAD_REQUEST');
    expect(body.error.data.issues.map((i) => i.path).sort()).toEqual(['name', 'organizationId']);
  });

  it('session cookie flags over HTTP', async () => {
    const resp = await fetch(`${cp.url}/trpc/auth.signIn`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'alice@a.test', password: 'correct horse battery staple' }),
    });
    expect(resp.status).toBe(200);
    const cookie = resp.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/sipwall_session=/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
  });
});

describe('concurrent config changes', () => {
  it('give distinct consecutive versions, the last one matching the stored config', async () => {
    const cp = await startTestControlPlane();
    try {
      const owner = await cp.operator('owner@race.test');
      const org = await owner.api.organizations.create({ name: 'race' });
      const site = await owner.api.sites.create({ organizationId: org.id, name: 's' });
      const { agent } = await owner.api.agents.create({ siteId: site.id, name: 'fw' });
      const levels = ['trace', 'debug', 'info', 'warn'] as const;
      await Promise.all(
        levels.map((logLevel) => owner.api.sites.setConfig({ siteId: site.id, config: { logLevel } })),
      );
      const got = await owner.api.agents.get({ agentId: agent.id });
      const versions = got.configVersions.map((v) => v.version);
      expect(versions).toEqual([...versions].sort((a, b) => b - a));
      expect(new Set(versions).size).toBe(versions.length);
      expect(versions[0]).toBe(versions.length);
      const stored = await owner.api.sites.getConfig({ siteId: site.id });
      expect(got.configVersions[0]?.payload.config.logLevel).toBe(stored.site.config.logLevel);
    } finally {
      await cp.close();
    }
  });
});
