import { EnrollErrorSchema, EnrollResponseSchema } from '@sipwall/shared';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agents } from '../../src/db/schema/index.js';
import { enrollAgent } from '../../src/domain/enroll.js';
import { startTestControlPlane, type TestControlPlane } from '../helpers/control-plane.js';
import { createFleet, postEnroll } from '../helpers/fleet.js';

describe('POST /api/enroll', () => {
  let cp: TestControlPlane;
  let fleet: Awaited<ReturnType<typeof createFleet>>;

  beforeAll(async () => {
    cp = await startTestControlPlane();
    fleet = await createFleet(cp, 'owner@enroll.test');
  });
  afterAll(async () => {
    await cp?.close();
  });

  it('valid token → credentials; the same token again → 409 token-used', async () => {
    const { agent, enrollmentToken } = await fleet.owner.api.agents.create({
      siteId: fleet.site.id,
      name: 'fw1',
    });
    const resp = await postEnroll(cp, { token: enrollmentToken, agentVersion: '1.0.0', hostname: 'fw1' });
    expect(resp.status).toBe(200);
    const body = EnrollResponseSchema.parse(await resp.json());
    expect(body.agentId).toBe(agent.id);
    expect(body.mqtt).toMatchObject({ url: cp.mqttUrl, clientId: agent.id, username: agent.id });
    expect(body.topicPrefix).toBe(`sipwall/v1/agents/${agent.id}/`);
    // Only hashes are stored.
    const [row] = await cp.database.db.select().from(agents).where(eq(agents.id, agent.id));
    expect(row?.mqttPasswordHash).toMatch(/^sha256\$[A-Za-z0-9_-]{43}$/);
    expect(row?.mqttPasswordHash).not.toContain(body.mqtt.password);
    expect(row?.enrollmentTokenHash).not.toBe(enrollmentToken);

    const again = await postEnroll(cp, { token: enrollmentToken, agentVersion: '1.0.0' });
    expect(again.status).toBe(409);
    expect(EnrollErrorSchema.parse(await again.json()).error).toBe('token-used');
  });

  it('two concurrent uses of one token: exactly one wins', async () => {
    const { enrollmentToken } = await fleet.owner.api.agents.create({
      siteId: fleet.site.id,
      name: 'fw-race',
    });
    const results = await Promise.all(
      Array.from({ length: 5 }, () => postEnroll(cp, { token: enrollmentToken, agentVersion: '1.0.0' })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409, 409, 409, 409]);
  });

  it('unknown token → 401 invalid-token', async () => {
    const resp = await postEnroll(cp, { token: 'x'.repeat(43), agentVersion: '1.0.0' });
    expect(resp.status).toBe(401);
    expect(EnrollErrorSchema.parse(await resp.json()).error).toBe('invalid-token');
  });

  it('expired token → 410 token-expired', async () => {
    const { agent, enrollmentToken } = await fleet.owner.api.agents.create({
      siteId: fleet.site.id,
      name: 'fw-old',
    });
    await cp.database.db
      .update(agents)
      .set({ enrollmentExpiresAt: new Date(Date.now() - 1000) })
      .where(eq(agents.id, agent.id));
    const resp = await postEnroll(cp, { token: enrollmentToken, agentVersion: '1.0.0' });
    expect(resp.status).toBe(410);
    expect(EnrollErrorSchema.parse(await resp.json()).error).toBe('token-expired');
  });

  it.each([
    ['not JSON', '{nope'],
    ['missing fields', { token: 'short' }],
    ['extra fields', { token: 'x'.repeat(43), agentVersion: '1', admin: true }],
  ])('malformed body (%s) → 400 invalid-request', async (_name, body) => {
    const resp = await postEnroll(cp, body);
    expect(resp.status).toBe(400);
    expect(EnrollErrorSchema.parse(await resp.json()).error).toBe('invalid-request');
  });

  it('a provisioning failure gives the token back for a retry', async () => {
    const { enrollmentToken } = await fleet.owner.api.agents.create({
      siteId: fleet.site.id,
      name: 'fw-retry',
    });
    const failing = {
      clock: () => new Date(),
      provisioner: {
        provisionAgent: async () => Promise.reject(new Error('broker down')),
        revokeAgent: async () => {},
      },
      publisher: cp.bridge,
      agentMqttUrl: cp.mqttUrl,
    };
    await expect(
      enrollAgent(cp.database.db, failing, { token: enrollmentToken, agentVersion: '1.0.0' }),
    ).rejects.toThrow('broker down');
    const resp = await postEnroll(cp, { token: enrollmentToken, agentVersion: '1.0.0' });
    expect(resp.status).toBe(200);
  });

  it('an oversized body → 413', async () => {
    const resp = await postEnroll(cp, {
      token: 'x'.repeat(43),
      agentVersion: '1',
      hostname: 'h'.repeat(20_000),
    });
    expect(resp.status).toBe(413);
  });
});
