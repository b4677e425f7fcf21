import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedIn, startTestControlPlane, type TestControlPlane } from '../helpers/control-plane.js';

const db = process.env['DATABASE_URL'] ? 'postgres' : 'pglite';

describe(`changes.preview: the diff a push would make, nothing written (${db})`, () => {
  let cp: TestControlPlane;
  let owner: SignedIn;
  let stranger: SignedIn;
  let orgId: string;
  beforeAll(async () => {
    cp = await startTestControlPlane();
    owner = await cp.operator('owner@preview.test');
    stranger = await cp.operator('stranger@preview.test');
    orgId = (await owner.api.organizations.create({ name: 'preview' })).id;
  });
  afterAll(async () => {
    await cp?.close();
  });

  it('per site and agent: the changed leaves against the latest version; invalid sites get issues', async () => {
    const a = await owner.api.sites.create({ organizationId: orgId, name: 'A' });
    const b = await owner.api.sites.create({ organizationId: orgId, name: 'B' });
    await owner.api.sites.setConfig({ siteId: a.id, config: { logLevel: 'info', domains: ['a.example'] } });
    const fa = await owner.api.agents.create({ siteId: a.id, name: 'fa' });
    const fb = await owner.api.agents.create({ siteId: b.id, name: 'fb' });
    const preview = await owner.api.changes.preview({
      organizationId: orgId,
      siteIds: [a.id, b.id],
      config: { logLevel: 'debug' },
    });
    expect(preview).toHaveLength(2);
    const [pa, pb] = preview;
    expect(pa).toMatchObject({ siteName: 'A', ok: true });
    expect(pa?.ok && pa.agents).toEqual([
      {
        agentId: fa.agent.id,
        name: 'fa',
        latestVersion: 1,
        changes: [{ path: 'config.logLevel', kind: 'changed', before: 'info', after: 'debug' }],
      },
    ]);
    expect(pb?.ok && pb.agents[0]).toMatchObject({
      agentId: fb.agent.id,
      latestVersion: null,
      changes: [{ path: 'config.logLevel', kind: 'added', after: 'debug' }],
    });
    // Nothing was written: the site's overrides and the agent's versions are as before.
    expect((await owner.api.sites.getConfig({ siteId: a.id })).site.config.logLevel).toBe('info');
    expect((await owner.api.agents.get({ agentId: fa.agent.id })).configVersions).toHaveLength(1);
    // A patch that makes a site invalid is reported for that site, with the field.
    const bad = await owner.api.changes.preview({
      organizationId: orgId,
      siteIds: [a.id],
      config: { registrar: { minExpiresSec: 3600, maxExpiresSec: 60 } },
    });
    expect(bad[0]?.ok).toBe(false);
    expect(bad[0]?.ok === false && bad[0].issues.map((i) => i.path).join()).toContain('registrar');
  });

  it("another tenant's sites are not found", async () => {
    const s = await owner.api.sites.create({ organizationId: orgId, name: 'Mine' });
    const theirs = (await stranger.api.organizations.create({ name: 'theirs' })).id;
    await expect(
      stranger.api.changes.preview({ organizationId: theirs, siteIds: [s.id] }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(
      stranger.api.changes.preview({ organizationId: orgId, siteIds: [s.id] }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
