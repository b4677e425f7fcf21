import { createHash } from 'node:crypto';
import { type DesiredState, DesiredStateSchema, topics } from '@sipwall/shared';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestConfigVersion } from '../../src/db/queries/config-versions.js';
import {
  type SignedIn,
  startTestControlPlane,
  type TestControlPlane,
  waitFor,
} from '../helpers/control-plane.js';
import { enrolledAgent } from '../helpers/fleet.js';
import { type TrpcErrorBody, trpcPost } from '../helpers/http.js';
import { collect, connectClient, trySubscribe } from '../helpers/mqtt-client.js';
import { trpcError } from '../helpers/trpc-error.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe(`fleet configuration: SIP users, org/site config, versions (${process.env['DATABASE_URL'] ? 'postgres' : 'pglite'})`, () => {
  let cp: TestControlPlane;
  let owner: SignedIn;
  let op: SignedIn; // operator of the org
  let viewer: SignedIn;
  let stranger: SignedIn;
  let orgId: string;
  let siteA: string;
  let siteB: string;
  let agentA: Awaited<ReturnType<typeof enrolledAgent>>;
  let agentB: Awaited<ReturnType<typeof enrolledAgent>>;
  let mqttA: MqttClient;
  let desiredA: string[];

  /** The stored latest desired state of an agent (HA1s included: read from the database). */
  const latest = async (agentId: string): Promise<DesiredState | null> => {
    const row = await latestConfigVersion(cp.database.db, { agentId });
    return row ? DesiredStateSchema.parse(row.payload) : null;
  };

  beforeAll(async () => {
    cp = await startTestControlPlane();
    owner = await cp.operator('owner@cfg.test');
    stranger = await cp.operator('stranger@cfg.test');
    await stranger.api.organizations.create({ name: 'elsewhere' });
    orgId = (await owner.api.organizations.create({ name: 'cfg' })).id;
    op = await cp.operator('op@cfg.test', [{ organizationId: orgId, role: 'operator' }]);
    viewer = await cp.operator('viewer@cfg.test', [{ organizationId: orgId, role: 'viewer' }]);
    siteA = (await owner.api.sites.create({ organizationId: orgId, name: 'A' })).id;
    siteB = (await owner.api.sites.create({ organizationId: orgId, name: 'B' })).id;
    agentA = await enrolledAgent(cp, owner, siteA, 'fw-a');
    agentB = await enrolledAgent(cp, owner, siteB, 'fw-b');
    mqttA = await connectClient(agentA.creds.mqtt.url, {
      clientId: agentA.agentId,
      username: agentA.agentId,
      password: agentA.creds.mqtt.password,
      protocolVersion: 4,
    });
    desiredA = collect(mqttA, topics.desired(agentA.agentId));
    expect(await trySubscribe(mqttA, topics.desired(agentA.agentId))).toBeLessThan(0x80);
  });
  afterAll(async () => {
    await mqttA?.endAsync(true);
    await cp?.close();
  });

  it('a new agent in an unmanaged site gets no version (it keeps running on its file)', async () => {
    expect(await latest(agentA.agentId)).toBeNull();
    expect((await owner.api.agents.get({ agentId: agentA.agentId })).desiredVersion).toBeNull();
  });

  let alice: string;
  let alicePassword: string;

  it('an operator adds a user with a generated password: shown once, stored as HA1s, pushed retained', async () => {
    const r = await op.api.sipUsers.create({
      siteId: siteA,
      username: 'alice',
      domain: 'Example.COM',
      displayName: 'Alice',
      password: { generate: true },
    });
    alice = r.user.id;
    expect(r.generatedPassword).toMatch(/^[A-Za-z0-9_-]{24}$/);
    alicePassword = r.generatedPassword!;
    expect(r.user).toMatchObject({ username: 'alice', domain: 'example.com', enabled: true });
    expect(JSON.stringify(r)).not.toMatch(/ha1/i);
    expect(r.pushed).toEqual([{ agentId: agentA.agentId, version: 1, changed: true }]);
    const state = await latest(agentA.agentId);
    expect(state?.users).toEqual([
      {
        username: 'alice',
        domain: 'example.com',
        ha1: {
          md5: md5(`alice:example.com:${alicePassword}`),
          sha256: sha256(`alice:example.com:${alicePassword}`),
        },
        allowFrom: [],
        maxBindings: 10,
      },
    ]);
    // Site B is untouched.
    expect(await latest(agentB.agentId)).toBeNull();
    // The agent receives it on its retained desired topic.
    await waitFor(async () => desiredA.length > 0, 5_000, 'desired message');
    expect(JSON.parse(desiredA.at(-1)!)).toMatchObject({ version: 1, users: [{ username: 'alice' }] });
    // Listing never shows HA1s or the password.
    const listed = await viewer.api.sipUsers.list({ siteId: siteA });
    expect(listed).toHaveLength(1);
    expect(JSON.stringify(listed)).not.toMatch(/ha1|[0-9a-f]{32}/);
    expect(JSON.stringify(listed)).not.toContain(alicePassword);
  });

  it('a typed password is not echoed; duplicates are a typed conflict on username', async () => {
    const r = await op.api.sipUsers.create({
      siteId: siteA,
      username: 'bob',
      domain: 'example.com',
      password: { password: 'bob-password-1' },
      algorithms: ['SHA-256', 'MD5'],
    });
    expect(r.generatedPassword).toBeNull();
    const state = await latest(agentA.agentId);
    expect(state?.users.find((u) => u.username === 'bob')).toMatchObject({
      ha1: { md5: md5('bob:example.com:bob-password-1') },
      algorithms: ['SHA-256', 'MD5'],
    });
    const e = await trpcError(
      op.api.sipUsers.create({
        siteId: siteA,
        username: 'bob',
        domain: 'example.com',
        password: { generate: true },
      }),
    );
    expect(e.code).toBe('CONFLICT');
    expect((e.cause as unknown as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual([
      'username',
    ]);
    // Too short a password names the field.
    const bad = await trpcError(
      op.api.sipUsers.create({
        siteId: siteA,
        username: 'carl',
        domain: 'example.com',
        password: { password: 'short' },
      }),
    );
    expect(bad.code).toBe('BAD_REQUEST');
  });

  it('disable removes the user from the next version, enable brings it back; reset password changes the HA1s', async () => {
    const v = (await latest(agentA.agentId))!.version;
    await op.api.sipUsers.update({ userId: alice, enabled: false });
    expect((await latest(agentA.agentId))?.users.map((u) => u.username)).toEqual(['bob']);
    await op.api.sipUsers.update({ userId: alice, enabled: true });
    const back = await latest(agentA.agentId);
    expect(back?.version).toBe(v + 2);
    expect(back?.users.map((u) => u.username)).toEqual(['alice', 'bob']);
    const reset = await op.api.sipUsers.resetPassword({
      userId: alice,
      password: { password: 'new-alice-pw' },
    });
    expect(reset.generatedPassword).toBeNull();
    const after = await latest(agentA.agentId);
    expect(after?.users[0]?.ha1.md5).toBe(md5('alice:example.com:new-alice-pw'));
    // Display name only: the desired content is the same, so no new version.
    const same = await op.api.sipUsers.update({ userId: alice, displayName: 'Alice A.' });
    expect(same.pushed).toEqual([{ agentId: agentA.agentId, version: after!.version, changed: false }]);
  });

  it('diff between versions names changed paths and hides HA1s', async () => {
    const now = (await latest(agentA.agentId))!.version;
    const d = await viewer.api.agents.diff({ agentId: agentA.agentId, from: now - 1, to: now });
    expect(d.changes).toEqual([
      { path: 'users.alice@example.com.ha1.md5', kind: 'changed', before: '(hidden)', after: '(hidden)' },
      { path: 'users.alice@example.com.ha1.sha256', kind: 'changed', before: '(hidden)', after: '(hidden)' },
    ]);
    const got = await viewer.api.agents.get({ agentId: agentA.agentId });
    expect(JSON.stringify(got)).not.toContain(md5('alice:example.com:new-alice-pw'));
    const missing = await trpcError(viewer.api.agents.diff({ agentId: agentA.agentId, from: 1, to: 999 }));
    expect(missing.code).toBe('NOT_FOUND');
  });

  it('organization policies reach every site; a site override wins; the viewer and operator may not set them', async () => {
    expect(
      (await trpcError(op.api.organizations.setConfig({ organizationId: orgId, policies: {} }))).code,
    ).toBe('FORBIDDEN');
    expect(
      (await trpcError(op.api.sites.setConfig({ siteId: siteA, policies: { authenticate: ['INVITE'] } })))
        .code,
    ).toBe('FORBIDDEN');
    expect(
      (await trpcError(viewer.api.sites.setConfig({ siteId: siteA, config: { logLevel: 'debug' } }))).code,
    ).toBe('FORBIDDEN');
    const r = await owner.api.organizations.setConfig({
      organizationId: orgId,
      policies: { bruteForce: { maxFailures: 3 }, authenticate: ['INVITE', 'MESSAGE'] },
      config: { logLevel: 'info' },
    });
    expect(r.pushed.map((p) => p.agentId).sort()).toEqual([agentA.agentId, agentB.agentId].sort());
    expect(r.pushed.every((p) => p.changed)).toBe(true);
    // The operator may change a site's managed config (log level).
    await op.api.sites.setConfig({ siteId: siteB, config: { logLevel: 'debug' } });
    await owner.api.sites.setConfig({ siteId: siteB, policies: { bruteForce: { windowSec: 30 } } });
    const b = await latest(agentB.agentId);
    expect(b?.config).toEqual({ logLevel: 'debug' });
    expect(b?.policies).toEqual({
      bruteForce: { maxFailures: 3, windowSec: 30 },
      authenticate: ['INVITE', 'MESSAGE'],
    });
    const a = await latest(agentA.agentId);
    expect(a?.config).toEqual({ logLevel: 'info' });
    expect(a?.users.map((u) => u.username)).toEqual(['alice', 'bob']);
  });

  it('a change that makes a site invalid is refused with the field and value, and nothing is stored', async () => {
    await owner.api.sites.setConfig({
      siteId: siteB,
      config: { logLevel: 'debug', registrar: { maxExpiresSec: 600 } },
    });
    const before = await owner.api.organizations.getConfig({ organizationId: orgId });
    const vB = (await latest(agentB.agentId))!.version;
    const vA = (await latest(agentA.agentId))!.version;
    const e = await trpcError(
      owner.api.organizations.setConfig({
        organizationId: orgId,
        config: { registrar: { minExpiresSec: 3600 } },
      }),
    );
    expect(e.code).toBe('BAD_REQUEST');
    const issues = (e.cause as unknown as { issues: { path: string; message: string }[] }).issues;
    expect(issues).toEqual([
      { path: 'config.registrar.minExpiresSec', message: 'must not exceed maxExpiresSec 600 (got 3600)' },
    ]);
    expect(e.message).toContain('site "B"');
    expect(await owner.api.organizations.getConfig({ organizationId: orgId })).toEqual(before);
    expect((await latest(agentB.agentId))!.version).toBe(vB);
    expect((await latest(agentA.agentId))!.version).toBe(vA);
    // Schema errors at input name the field too.
    const bad = await trpcError(
      owner.api.sites.setConfig({ siteId: siteA, config: { logLevel: 'loud' as never } }),
    );
    expect(bad.code).toBe('BAD_REQUEST');
  });

  it('over HTTP, input errors carry the path and the bad value, never a password', async () => {
    const resp = await trpcPost(
      cp.url,
      'sites.setConfig',
      { siteId: siteA, config: { logLevel: 'loud', media: { portMin: 0 } } },
      { cookie: owner.cookie },
    );
    expect(resp.status).toBe(400);
    const body = (await resp.json()) as TrpcErrorBody;
    expect(body.error.data.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'config.logLevel', value: 'loud' }),
        expect.objectContaining({ path: 'config.media.portMin', value: 0 }),
      ]),
    );
    const pw = await trpcPost(
      cp.url,
      'sipUsers.create',
      { siteId: siteA, username: 'carl', domain: 'example.com', password: { password: 'tiny' } },
      { cookie: owner.cookie },
    );
    const text = await pw.text();
    expect(pw.status).toBe(400);
    expect(text).toContain('password');
    expect(text).not.toContain('tiny');
  });

  it("rollback publishes a new version with the old config and policies but today's users; the next change recompiles", async () => {
    const now = (await latest(agentA.agentId))!;
    const r = await op.api.agents.rollback({ agentId: agentA.agentId, version: 1 });
    expect(r).toEqual({ agentId: agentA.agentId, version: now.version + 1, changed: true });
    const rolled = await latest(agentA.agentId);
    // Config and policies are version 1's (none); the users are not: bob (added since) stays, and
    // alice keeps her reset password.
    const v1 = await viewer.api.agents.diff({ agentId: agentA.agentId, from: 1, to: rolled!.version });
    expect(v1.changes.map((c) => c.path)).toEqual([
      'users.alice@example.com.ha1.md5',
      'users.alice@example.com.ha1.sha256',
      'users.bob@example.com',
    ]);
    expect(rolled!.users).toEqual(now.users);
    expect(rolled!.config).toEqual({});
    expect(rolled!.policies).toEqual({});
    await waitFor(
      async () => desiredA.some((m) => JSON.parse(m).version === rolled!.version),
      5_000,
      'rolled-back version published',
    );
    // Rolling back to the content it already has is a no-op.
    expect(await op.api.agents.rollback({ agentId: agentA.agentId, version: 1 })).toEqual({
      ...r,
      changed: false,
    });
    // A push recompiles from the database: back to the current users and config.
    const pushed = await op.api.agents.push({ agentId: agentA.agentId });
    expect(pushed.changed).toBe(true);
    const again = await viewer.api.agents.diff({
      agentId: agentA.agentId,
      from: now.version,
      to: pushed.version!,
    });
    expect(again.changes).toEqual([]);
  });

  it('deleting a user removes it from the next version', async () => {
    await op.api.sipUsers.delete({ userId: alice });
    expect((await latest(agentA.agentId))?.users.map((u) => u.username)).toEqual(['bob']);
    const audit = await owner.api.audit.list({ organizationId: orgId });
    const actions = audit.map((e) => e.action);
    for (const a of [
      'sipUser.create',
      'sipUser.update',
      'sipUser.resetPassword',
      'sipUser.delete',
      'organization.setConfig',
      'site.setConfig',
      'agent.rollback',
    ])
      expect(actions).toContain(a);
    expect(JSON.stringify(audit)).not.toContain(md5('alice:example.com:new-alice-pw'));
    expect(JSON.stringify(audit)).not.toContain('new-alice-pw');
    expect((await trpcError(op.api.audit.list({ organizationId: orgId }))).code).toBe('FORBIDDEN');
  });

  it("another organization's operator sees none of it", async () => {
    // Thunks, called one at a time: a refusal must never go unawaited.
    for (const call of [
      () => stranger.api.sipUsers.list({ siteId: siteA }),
      () =>
        stranger.api.sipUsers.create({
          siteId: siteA,
          username: 'x',
          domain: 'example.com',
          password: { generate: true },
        }),
      () => stranger.api.sites.getConfig({ siteId: siteA }),
      () => stranger.api.organizations.getConfig({ organizationId: orgId }),
      () => stranger.api.agents.diff({ agentId: agentA.agentId, from: 1, to: 2 }),
      () => stranger.api.agents.rollback({ agentId: agentA.agentId, version: 1 }),
      () => stranger.api.audit.list({ organizationId: orgId }),
    ])
      expect((await trpcError(call())).code).toBe('NOT_FOUND');
  });
});
