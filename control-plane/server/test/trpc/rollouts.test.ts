import { topics } from '@sipwall/shared';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type SignedIn,
  startTestControlPlane,
  type TestControlPlane,
  waitFor,
} from '../helpers/control-plane.js';
import { enrolledAgent } from '../helpers/fleet.js';
import { connectClient } from '../helpers/mqtt-client.js';

/**
 * Bulk changes and staged rollouts, with agents simulated by real MQTT clients using their
 * enrolled credentials (the contract is what matters here; real agent processes are in test/fleet).
 */
describe(`rollouts: bulk change, canary then the rest, halt on failure (${process.env['DATABASE_URL'] ? 'postgres' : 'pglite'})`, () => {
  let cp: TestControlPlane;
  let owner: SignedIn;
  let orgId: string;
  const sites: string[] = [];
  const agents: { agentId: string; client: MqttClient }[] = [];

  const report = (i: number, body: Record<string, unknown>) =>
    agents[i]!.client.publishAsync(
      topics.reported(agents[i]!.agentId),
      JSON.stringify({ errors: [], agentVersion: 't-1', reportedAt: new Date().toISOString(), ...body }),
      { qos: 1, retain: true },
    );
  const status = (i: number, state: 'online' | 'offline') =>
    agents[i]!.client.publishAsync(topics.status(agents[i]!.agentId), JSON.stringify({ state }), {
      qos: 1,
      retain: true,
    });
  const agent = (i: number) => owner.api.agents.get({ agentId: agents[i]!.agentId });

  beforeAll(async () => {
    cp = await startTestControlPlane({ rolloutCheckMs: 200 });
    owner = await cp.operator('owner@rollout.test');
    orgId = (await owner.api.organizations.create({ name: 'rollout' })).id;
    for (const n of [1, 2, 3]) {
      const site = await owner.api.sites.create({ organizationId: orgId, name: `S${n}` });
      sites.push(site.id);
      const a = await enrolledAgent(cp, owner, site.id, `fw-${n}`);
      const client = await connectClient(a.creds.mqtt.url, {
        clientId: a.agentId,
        username: a.agentId,
        password: a.creds.mqtt.password,
        protocolVersion: 4,
      });
      agents.push({ agentId: a.agentId, client });
    }
    for (const i of [0, 1, 2]) await status(i, 'online');
    await waitFor(async () => (await agent(2)).online, 5_000, 'agents online');
  });
  afterAll(async () => {
    for (const a of agents) await a.client.endAsync(true).catch(() => {});
    await cp?.close();
  });

  it('a canary site gets the change first; the rest follow once its agent applied it and is online', async () => {
    await status(0, 'offline');
    await waitFor(async () => !(await agent(0)).online, 5_000, 'canary offline');
    const r = await owner.api.rollouts.start({
      organizationId: orgId,
      canarySiteIds: [sites[0]!],
      siteIds: [sites[1]!, sites[2]!],
      policies: { bruteForce: { maxFailures: 4 } },
    });
    expect(r.state).toBe('canary');
    expect(r.canaryTargets).toEqual([{ agentId: agents[0]!.agentId, version: 1 }]);
    expect(await agent(0)).toMatchObject({ desiredVersion: 1, configState: 'pending' });
    expect((await agent(1)).desiredVersion).toBeNull();

    // Applied but offline: still waiting.
    await report(0, { appliedVersion: 1, status: 'applied' });
    await waitFor(async () => (await agent(0)).configState === 'applied', 5_000, 'canary applied');
    await new Promise((res) => setTimeout(res, 500));
    expect((await owner.api.rollouts.get({ rolloutId: r.id })).state).toBe('canary');
    expect((await agent(1)).desiredVersion).toBeNull();

    // Online again: the periodic check completes it and the rest get the change.
    await status(0, 'online');
    await waitFor(
      async () => (await owner.api.rollouts.get({ rolloutId: r.id })).state === 'completed',
      5_000,
      'completed',
    );
    for (const i of [1, 2])
      expect(await agent(i)).toMatchObject({ desiredVersion: 1, configState: 'pending' });
    const cfg = await owner.api.sites.getConfig({ siteId: sites[2]! });
    expect(cfg.site.policies).toEqual({ bruteForce: { maxFailures: 4 } });
  });

  it('a canary that rejects halts the rollout with its reason; the rest never get the change', async () => {
    const r = await owner.api.rollouts.start({
      organizationId: orgId,
      canarySiteIds: [sites[0]!],
      siteIds: [sites[1]!],
      config: { logLevel: 'debug' },
    });
    expect(r.state).toBe('canary');
    const v = r.canaryTargets[0]!.version;
    await report(0, {
      appliedVersion: 1,
      status: 'rejected',
      rejectedVersion: v,
      errors: [{ path: 'config.logLevel', message: 'not today' }],
    });
    const halted = await waitFor(
      async () => {
        const g = await owner.api.rollouts.get({ rolloutId: r.id });
        return g.state === 'halted' ? g : null;
      },
      5_000,
      'halted',
    );
    expect(halted.reason).toContain('rejected');
    expect(halted.reason).toContain('config.logLevel: not today');
    expect(await agent(0)).toMatchObject({ configState: 'rejected', errors: [{ path: 'config.logLevel' }] });
    expect((await owner.api.sites.getConfig({ siteId: sites[1]! })).site.config).toEqual({});
    expect((await agent(1)).desiredVersion).toBe(1);
  });

  it('without canaries a bulk change goes to every selected site at once; bad input changes nothing', async () => {
    const before = (await agent(2)).desiredVersion;
    const r = await owner.api.rollouts.start({
      organizationId: orgId,
      siteIds: [sites[1]!, sites[2]!],
      config: { registrar: { maxExpiresSec: 900 } },
    });
    expect(r.state).toBe('completed');
    expect((await agent(2)).desiredVersion).toBe((before ?? 0) + 1);
    await expect(
      owner.api.rollouts.start({
        organizationId: orgId,
        siteIds: [sites[1]!],
        config: { registrar: { minExpiresSec: 3600 } },
      }),
    ).rejects.toThrow(/minExpiresSec/);
    expect((await agent(2)).desiredVersion).toBe((before ?? 0) + 1);
    const stranger = await cp.operator('stranger@rollout.test');
    await expect(stranger.api.rollouts.get({ rolloutId: r.id })).rejects.toThrow(/not found/);
  });
});
