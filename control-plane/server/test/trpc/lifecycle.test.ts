import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedIn, startTestControlPlane, type TestControlPlane } from '../helpers/control-plane.js';
import { postEnroll } from '../helpers/fleet.js';
import { trpcError } from '../helpers/trpc-error.js';

/** The typed conflict: CONFLICT, domain code `conflict`, the field named in `issues`. */
async function expectConflict(p: Promise<unknown>, field: string) {
  const e = await trpcError(p);
  expect(e.code).toBe('CONFLICT');
  const cause = e.cause as { code?: string; issues?: { path: string }[] };
  expect(cause.code).toBe('conflict');
  expect(cause.issues?.map((i) => i.path)).toEqual([field]);
}

describe(`sites and agents: rename, delete, unique names, re-issue (${process.env['DATABASE_URL'] ? 'postgres' : 'pglite'})`, () => {
  let cp: TestControlPlane;
  let owner: SignedIn;
  let other: SignedIn;
  let orgId: string;
  let otherOrg: string;

  beforeAll(async () => {
    cp = await startTestControlPlane();
    owner = await cp.operator('owner@life.test');
    other = await cp.operator('other@life.test');
    orgId = (await owner.api.organizations.create({ name: 'life' })).id;
    otherOrg = (await other.api.organizations.create({ name: 'other' })).id;
  });
  afterAll(async () => {
    await cp?.close();
  });

  it('site names are unique per organization (create and rename), free across organizations', async () => {
    const hq = await owner.api.sites.create({ organizationId: orgId, name: 'HQ' });
    await expectConflict(owner.api.sites.create({ organizationId: orgId, name: 'HQ' }), 'name');
    await other.api.sites.create({ organizationId: otherOrg, name: 'HQ' });
    const branch = await owner.api.sites.create({ organizationId: orgId, name: 'Branch' });
    await expectConflict(owner.api.sites.rename({ siteId: branch.id, name: 'HQ' }), 'name');
    const renamed = await owner.api.sites.rename({ siteId: branch.id, name: 'Branch 2' });
    expect(renamed.name).toBe('Branch 2');
    expect((await owner.api.sites.list({ organizationId: orgId })).map((s) => s.name)).toEqual([
      'Branch 2',
      'HQ',
    ]);
    const audit = await owner.api.audit.list({ organizationId: orgId });
    expect(audit.find((e) => e.action === 'site.rename')).toMatchObject({
      target: branch.id,
      operatorEmail: 'owner@life.test',
      detail: { before: { name: 'Branch' }, after: { name: 'Branch 2' } },
    });
    expect(hq.id).not.toBe(branch.id);
  });

  it('agent names are unique per site, free across sites; rename and delete', async () => {
    const s1 = await owner.api.sites.create({ organizationId: orgId, name: 'S1' });
    const s2 = await owner.api.sites.create({ organizationId: orgId, name: 'S2' });
    const a = await owner.api.agents.create({ siteId: s1.id, name: 'fw' });
    await expectConflict(owner.api.agents.create({ siteId: s1.id, name: 'fw' }), 'name');
    await owner.api.agents.create({ siteId: s2.id, name: 'fw' });
    const b = await owner.api.agents.create({ siteId: s1.id, name: 'fw-2' });
    await expectConflict(owner.api.agents.rename({ agentId: b.agent.id, name: 'fw' }), 'name');
    expect((await owner.api.agents.rename({ agentId: b.agent.id, name: 'fw-b' })).name).toBe('fw-b');
    await owner.api.agents.delete({ agentId: a.agent.id });
    expect((await trpcError(owner.api.agents.get({ agentId: a.agent.id }))).code).toBe('NOT_FOUND');
    // The deleted agent's token is dead with it.
    expect((await postEnroll(cp, { token: a.enrollmentToken, agentVersion: 't' })).status).toBe(401);
  });

  it('deleting a site deletes its agents', async () => {
    const s = await owner.api.sites.create({ organizationId: orgId, name: 'Doomed' });
    const a = await owner.api.agents.create({ siteId: s.id, name: 'fw' });
    await owner.api.sites.delete({ siteId: s.id });
    expect((await trpcError(owner.api.agents.get({ agentId: a.agent.id }))).code).toBe('NOT_FOUND');
    expect((await owner.api.sites.list({ organizationId: orgId })).map((x) => x.name)).not.toContain(
      'Doomed',
    );
    expect((await postEnroll(cp, { token: a.enrollmentToken, agentVersion: 't' })).status).toBe(401);
  });

  it('re-issuing an enrollment token kills the old one', async () => {
    const s = await owner.api.sites.create({ organizationId: orgId, name: 'Reissue' });
    const a = await owner.api.agents.create({ siteId: s.id, name: 'fw' });
    const r = await owner.api.agents.reissueEnrollment({ agentId: a.agent.id });
    expect(r.enrollmentToken).not.toBe(a.enrollmentToken);
    expect((await postEnroll(cp, { token: a.enrollmentToken, agentVersion: 't' })).status).toBe(401);
    expect((await postEnroll(cp, { token: r.enrollmentToken, agentVersion: 't' })).status).toBe(200);
    expect((await owner.api.agents.get({ agentId: a.agent.id })).enrolled).toBe(true);
  });

  it("another organization's operator gets NOT_FOUND and changes nothing", async () => {
    const s = await owner.api.sites.create({ organizationId: orgId, name: 'Mine' });
    const a = await owner.api.agents.create({ siteId: s.id, name: 'fw' });
    // Thunks, called one at a time: a refusal must never go unawaited.
    for (const call of [
      () => other.api.sites.rename({ siteId: s.id, name: 'pwned' }),
      () => other.api.sites.delete({ siteId: s.id }),
      () => other.api.agents.rename({ agentId: a.agent.id, name: 'pwned' }),
      () => other.api.agents.delete({ agentId: a.agent.id }),
      () => other.api.agents.revoke({ agentId: a.agent.id }),
      () => other.api.agents.reissueEnrollment({ agentId: a.agent.id }),
    ])
      expect((await trpcError(call())).code).toBe('NOT_FOUND');
    expect((await owner.api.agents.get({ agentId: a.agent.id })).name).toBe('fw');
    expect((await postEnroll(cp, { token: a.enrollmentToken, agentVersion: 't' })).status).toBe(200);
  });
});
