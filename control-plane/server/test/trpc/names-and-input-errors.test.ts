import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collidingName, nameKey } from '../../src/domain/names.js';
import { fieldName } from '../../src/trpc/input-issues.js';
import { type SignedIn, startTestControlPlane, type TestControlPlane } from '../helpers/control-plane.js';
import { type TrpcErrorBody, trpcPost } from '../helpers/http.js';
import { trpcError } from '../helpers/trpc-error.js';

const db = process.env['DATABASE_URL'] ? 'postgres' : 'pglite';

describe('name keys and field names (pure)', () => {
  it('case, width and spacing variants collide; different names do not', () => {
    expect(nameKey('  Head   Office ')).toBe('head office');
    expect(nameKey('ＨＱ')).toBe('hq');
    const taken = [
      { id: 'a', name: 'HQ' },
      { id: 'b', name: 'Branch 1' },
    ];
    expect(collidingName('hq', taken)).toBe('HQ');
    expect(collidingName('branch  1', taken)).toBe('Branch 1');
    expect(collidingName('Branch 2', taken)).toBeNull();
    // Renaming a thing to a variant of its own name is not a duplicate.
    expect(collidingName('hq', taken, 'a')).toBeNull();
  });
  it('field names read like code: dots for keys, brackets for indexes', () => {
    expect(fieldName(['config', 'domains', 2])).toBe('config.domains[2]');
    expect(fieldName([])).toBe('(input)');
  });
});

describe(`duplicate names are refused with a typed conflict (${db})`, () => {
  let cp: TestControlPlane;
  let owner: SignedIn;
  let orgId: string;
  beforeAll(async () => {
    cp = await startTestControlPlane();
    owner = await cp.operator('owner@dup.test');
    orgId = (await owner.api.organizations.create({ name: 'dup' })).id;
  });
  afterAll(async () => {
    await cp?.close();
  });

  it('a site name differing only in case or spacing is a conflict on `name` (create and rename)', async () => {
    const hq = await owner.api.sites.create({ organizationId: orgId, name: 'Head Office' });
    for (const name of ['head office', 'HEAD  OFFICE', 'Head Office']) {
      const e = await trpcError(owner.api.sites.create({ organizationId: orgId, name }));
      expect(e.code).toBe('CONFLICT');
      expect(e.message).toContain('a site named "Head Office" already exists in this organization');
      const cause = e.cause as { code?: string; issues?: { path: string }[] };
      expect(cause.code).toBe('conflict');
      expect(cause.issues?.map((i) => i.path)).toEqual(['name']);
    }
    const other = await owner.api.sites.create({ organizationId: orgId, name: 'Branch' });
    expect((await trpcError(owner.api.sites.rename({ siteId: other.id, name: 'HEAD office' }))).code).toBe(
      'CONFLICT',
    );
    // Its own name in another case is fine.
    expect((await owner.api.sites.rename({ siteId: hq.id, name: 'HEAD OFFICE' })).name).toBe('HEAD OFFICE');
    expect((await owner.api.sites.list({ organizationId: orgId })).map((s) => s.name).sort()).toEqual([
      'Branch',
      'HEAD OFFICE',
    ]);
  });

  it('an agent name differing only in case is a conflict within a site, free in another site', async () => {
    const s1 = await owner.api.sites.create({ organizationId: orgId, name: 'A1' });
    const s2 = await owner.api.sites.create({ organizationId: orgId, name: 'A2' });
    await owner.api.agents.create({ siteId: s1.id, name: 'Edge-1' });
    const e = await trpcError(owner.api.agents.create({ siteId: s1.id, name: 'edge-1' }));
    expect(e.code).toBe('CONFLICT');
    expect(e.message).toContain('an agent named "Edge-1" already exists in this site');
    await owner.api.agents.create({ siteId: s2.id, name: 'edge-1' });
    const b = await owner.api.agents.create({ siteId: s1.id, name: 'Edge-2' });
    expect((await trpcError(owner.api.agents.rename({ agentId: b.agent.id, name: 'EDGE-1' }))).code).toBe(
      'CONFLICT',
    );
  });

  it('a bad policy value answers 400 naming the field and the value', async () => {
    const resp = await trpcPost(
      cp.url,
      'organizations.setConfig',
      { organizationId: orgId, config: { domains: ['a.example', 'b.example', 'exa mple.com'] } },
      { cookie: owner.cookie },
    );
    expect(resp.status).toBe(400);
    const body = (await resp.json()) as TrpcErrorBody;
    expect(body.error.message).toBe('config.domains[2] "exa mple.com": not a valid domain name');
    expect(body.error.data.issues).toContainEqual(
      expect.objectContaining({
        path: 'config.domains.2',
        field: 'config.domains[2]',
        value: 'exa mple.com',
      }),
    );
  });

  it('the audit log filters by action or by action prefix', async () => {
    const renames = await owner.api.audit.list({ organizationId: orgId, action: 'site.rename' });
    expect(renames.length).toBeGreaterThan(0);
    expect(new Set(renames.map((e) => e.action))).toEqual(new Set(['site.rename']));
    const siteActions = new Set(
      (await owner.api.audit.list({ organizationId: orgId, action: 'site.' })).map((e) => e.action),
    );
    expect(siteActions).toEqual(new Set(['site.create', 'site.rename']));
    await expect(owner.api.audit.list({ organizationId: orgId, action: 'site%' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });

  it('a secret is never echoed in the message', async () => {
    const site = await owner.api.sites.create({ organizationId: orgId, name: 'Sec' });
    const resp = await trpcPost(
      cp.url,
      'sipUsers.create',
      { siteId: site.id, username: 'u1', domain: 'a.example', password: { password: 'short' } },
      { cookie: owner.cookie },
    );
    expect(resp.status).toBe(400);
    const text = await resp.text();
    expect(text).not.toContain('short"');
    expect((JSON.parse(text) as TrpcErrorBody).error.message).toContain('password.password: ');
  });
});
