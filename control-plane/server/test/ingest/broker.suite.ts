import { MAX_PAYLOAD_BYTES, topics } from '@sipwall/shared';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestControlPlane } from '../helpers/control-plane.js';
import { waitFor } from '../helpers/control-plane.js';
import { createFleet, enrolledAgent, postEnroll } from '../helpers/fleet.js';
import { collect, connectClient, sleep, trySubscribe } from '../helpers/mqtt-client.js';

export interface BrokerSuiteOptions {
  start: () => Promise<TestControlPlane>;
  /** Whether the broker enforces per-agent credentials and ACLs. */
  acl: boolean;
  /**
   * Whether the broker refuses an agent's retained publish outside reported/status and a payload
   * above MAX_PAYLOAD_BYTES (the embedded broker; Mosquitto cannot per client, see infra/mosquitto).
   */
  limits?: boolean;
  protocolVersion: 4 | 5;
}

/**
 * One suite for every broker the control plane supports (embedded aedes, Mosquitto + dynsec,
 * anonymous external Mosquitto): real mqtt.js clients on loopback, real enrollment.
 */
export function brokerSuite(name: string, opts: BrokerSuiteOptions): void {
  describe(name, () => {
    let cp: TestControlPlane;
    let a: Awaited<ReturnType<typeof enrolledAgent>>;
    let b: Awaited<ReturnType<typeof enrolledAgent>>;
    let fleet: Awaited<ReturnType<typeof createFleet>>;
    const clients: MqttClient[] = [];

    const connectAs = async (agent: typeof a, password = agent.creds.mqtt.password) => {
      const c = await connectClient(agent.creds.mqtt.url, {
        clientId: agent.creds.mqtt.clientId,
        username: agent.creds.mqtt.username,
        password,
        protocolVersion: opts.protocolVersion,
      });
      clients.push(c);
      return c;
    };

    beforeAll(async () => {
      cp = await opts.start();
      fleet = await createFleet(cp, `owner-${Math.random().toString(36).slice(2)}@broker.test`);
      a = await enrolledAgent(cp, fleet.owner, fleet.site.id, 'fw-a');
      b = await enrolledAgent(cp, fleet.owner, fleet.site.id, 'fw-b');
    });
    afterAll(async () => {
      for (const c of clients) await c.endAsync(true).catch(() => {});
      await cp?.close();
    });

    it('an agent may subscribe to its desired, ack and rpc/+ and publish its status', async () => {
      const c = await connectAs(a);
      for (const filter of [
        topics.desired(a.agentId),
        topics.ack(a.agentId),
        `${topics.rpc(a.agentId, '+')}`,
      ])
        expect(await trySubscribe(c, filter), filter).toBeLessThan(0x80);
      const before = cp.bridge.stats().received;
      await c.publishAsync(topics.status(a.agentId), JSON.stringify({ state: 'online' }), {
        qos: 1,
        retain: true,
      });
      await waitFor(
        async () => cp.bridge.stats().received > before,
        5_000,
        'status reaches the control plane',
      );
    });

    it('a site config change reaches the agent as a retained desired message', async () => {
      const { pushed } = await fleet.owner.api.sites.setConfig({
        siteId: fleet.site.id,
        config: { logLevel: 'debug' },
      });
      const version = pushed.find((p) => p.agentId === a.agentId)?.version;
      expect(version).toBe(1);
      const c = await connectAs(a);
      const got = collect(c, topics.desired(a.agentId));
      expect(await trySubscribe(c, topics.desired(a.agentId))).toBeLessThan(0x80);
      await waitFor(async () => got.length > 0, 5_000, 'retained desired');
      expect(JSON.parse(got[0]!)).toMatchObject({ version, config: { logLevel: 'debug' } });
    });

    it('ingests status online/offline and reported appliedVersion', async () => {
      const c = await connectAs(b);
      await c.publishAsync(topics.status(b.agentId), JSON.stringify({ state: 'online' }), {
        qos: 1,
        retain: true,
      });
      await waitFor(
        async () => (await fleet.owner.api.agents.get({ agentId: b.agentId })).online,
        5_000,
        'online',
      );
      const reported = {
        appliedVersion: 3,
        status: 'applied',
        errors: [],
        agentVersion: 'test-1.0',
        reportedAt: new Date().toISOString(),
      };
      await c.publishAsync(topics.reported(b.agentId), JSON.stringify(reported), { qos: 1, retain: true });
      const got = await waitFor(
        async () => {
          const g = await fleet.owner.api.agents.get({ agentId: b.agentId });
          return g.appliedVersion === 3 ? g : null;
        },
        5_000,
        'appliedVersion',
      );
      expect(got).toMatchObject({ reportedStatus: 'applied', errors: [], online: true });
      expect(Date.parse(got.lastSeenAt ?? '')).not.toBeNaN();
      await c.publishAsync(topics.status(b.agentId), JSON.stringify({ state: 'offline' }), {
        qos: 1,
        retain: true,
      });
      await waitFor(
        async () => !(await fleet.owner.api.agents.get({ agentId: b.agentId })).online,
        5_000,
        'offline',
      );
    });

    it('a garbage status payload is counted and ignored without crashing', async () => {
      const c = await connectAs(b);
      const before = cp.bridge.stats().invalid;
      await c.publishAsync(topics.status(b.agentId), '{"state":"sideways"', { qos: 1 });
      await c.publishAsync(topics.status(b.agentId), Buffer.from([0xff, 0xfe, 0x00]), { qos: 1 });
      await waitFor(async () => cp.bridge.stats().invalid >= before + 2, 5_000, 'invalid counted');
      // Still working afterwards.
      await c.publishAsync(topics.status(b.agentId), JSON.stringify({ state: 'online' }), { qos: 1 });
      await waitFor(
        async () => (await fleet.owner.api.agents.get({ agentId: b.agentId })).online,
        5_000,
        'online',
      );
      const health = await fetch(`${cp.url}/healthz`);
      expect(health.status).toBe(200);
    });

    if (!opts.acl) return;

    it("subscribing to another agent's topics or the whole tree is refused", async () => {
      const c = await connectAs(a);
      for (const filter of [
        topics.desired(b.agentId),
        `sipwall/v1/agents/${b.agentId}/#`,
        'sipwall/v1/agents/#',
        'sipwall/v1/agents/+/status',
        '#',
        '+/v1/agents/#',
        `$share/x/sipwall/v1/agents/${a.agentId}/events`,
        `sipwall/v1/agents/${a.agentId}/#`,
        topics.reported(a.agentId),
        topics.events(a.agentId),
      ]) {
        const client = c.connected ? c : await connectAs(a);
        expect(await trySubscribe(client, filter), filter).toBeGreaterThanOrEqual(0x80);
      }
    });

    it("publishing under another agent's topics never reaches that agent nor the control plane", async () => {
      const victim = await connectAs(b);
      const target = topics.rpc(b.agentId, 'reboot');
      expect(await trySubscribe(victim, topics.rpc(b.agentId, '+'))).toBeLessThan(0x80);
      expect(await trySubscribe(victim, topics.desired(b.agentId))).toBeLessThan(0x80);
      const got = collect(victim, target);
      const gotDesired = collect(victim, topics.desired(b.agentId));
      await sleep(300); // a retained desired of b (if any) arrives first
      const retainedBefore = [...gotDesired];
      const attacker = await connectAs(a);
      const before = cp.bridge.stats().received;
      attacker.publish(target, 'evil', { qos: 0 });
      attacker.publish(topics.desired(b.agentId), 'evil', { qos: 0, retain: true });
      attacker.publish(topics.reported(b.agentId), 'evil', { qos: 0, retain: true });
      attacker.publish(topics.status(b.agentId), 'evil', { qos: 0 });
      attacker.publish(topics.events(b.agentId), 'evil', { qos: 0 });
      await sleep(700);
      expect(got).toEqual([]);
      expect(gotDesired).toEqual(retainedBefore);
      expect(cp.bridge.stats().received).toBe(before);
    });

    it('an agent cannot publish on its own desired topic, retained or not', async () => {
      const { pushed } = await fleet.owner.api.sites.setConfig({
        siteId: fleet.site.id,
        config: { logLevel: 'warn' },
      });
      const version = pushed.find((p) => p.agentId === a.agentId)?.version;
      if (version == null) throw new Error('the site config change pushed nothing to agent a');
      const self = await connectAs(a);
      const live = collect(self, topics.desired(a.agentId));
      expect(await trySubscribe(self, topics.desired(a.agentId))).toBeLessThan(0x80);
      await waitFor(async () => live.length > 0, 5_000, 'retained desired from the control plane');
      const forged = JSON.stringify({ ...JSON.parse(live[0]!), version: version + 100 });
      const other = await connectAs(a).catch(() => undefined);
      const writer = other ?? self;
      writer.publish(topics.desired(a.agentId), forged, { qos: 1, retain: true });
      writer.publish(topics.desired(a.agentId), forged, { qos: 0 });
      await sleep(700);
      // Neither the live subscriber nor a fresh subscription (the retained copy) sees the forgery.
      expect(live.every((m) => JSON.parse(m).version === version)).toBe(true);
      const fresh = await connectAs(a);
      const retained = collect(fresh, topics.desired(a.agentId));
      expect(await trySubscribe(fresh, topics.desired(a.agentId))).toBeLessThan(0x80);
      await waitFor(async () => retained.length > 0, 5_000, 'retained desired');
      expect(JSON.parse(retained[0]!)).toMatchObject({ version });
    });

    if (opts.limits)
      it('an agent cannot publish retained events nor a payload above MAX_PAYLOAD_BYTES', async () => {
        const c = await connectAs(a);
        const before = cp.bridge.stats().received;
        c.publish(topics.events(a.agentId), '{}', { qos: 0, retain: true });
        await sleep(500);
        const c2 = await connectAs(a);
        c2.publish(topics.events(a.agentId), Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x20), { qos: 0 });
        await sleep(1000);
        expect(cp.bridge.stats().received).toBe(before);
        // The same agent's ordinary publish still gets through.
        const c3 = await connectAs(a);
        await c3.publishAsync(topics.status(a.agentId), JSON.stringify({ state: 'online' }), { qos: 1 });
        await waitFor(async () => cp.bridge.stats().received > before, 5_000, 'ordinary publish');
      });

    it('a wrong password is refused at CONNACK', async () => {
      await expect(connectAs(a, 'definitely-not-the-password')).rejects.toThrow();
    });

    it("an agent cannot log in with another agent's client id", async () => {
      await expect(
        connectClient(a.creds.mqtt.url, {
          clientId: b.agentId,
          username: a.agentId,
          password: a.creds.mqtt.password,
          protocolVersion: opts.protocolVersion,
        }),
      ).rejects.toThrow();
    });

    /** Resolves when the client's connection closes (bounded). */
    const closed = (c: MqttClient) =>
      c.connected
        ? new Promise<void>((resolve, reject) => {
            const t = setTimeout(() => reject(new Error('session not dropped within 5 s')), 5_000);
            c.once('close', () => {
              clearTimeout(t);
              resolve();
            });
          })
        : Promise.resolve();

    it('deleting an agent revokes it: its session is dropped and its credentials are refused', async () => {
      const doomed = await enrolledAgent(cp, fleet.owner, fleet.site.id, 'fw-doomed');
      const c = await connectAs(doomed);
      const gone = closed(c);
      await fleet.owner.api.agents.delete({ agentId: doomed.agentId });
      await gone;
      await expect(connectAs(doomed)).rejects.toThrow();
      await expect(fleet.owner.api.agents.get({ agentId: doomed.agentId })).rejects.toThrow(/not found/);
    });

    it("deleting a site revokes its agents' credentials", async () => {
      const site = await fleet.owner.api.sites.create({ organizationId: fleet.org.id, name: 'doomed site' });
      const doomed = await enrolledAgent(cp, fleet.owner, site.id, 'fw-in-doomed-site');
      const c = await connectAs(doomed);
      const gone = closed(c);
      await fleet.owner.api.sites.delete({ siteId: site.id });
      await gone;
      await expect(connectAs(doomed)).rejects.toThrow();
    });

    it('revoke voids the credentials; a re-issued token enrolls again and the old token stays dead', async () => {
      const { agent, enrollmentToken } = await fleet.owner.api.agents.create({
        siteId: fleet.site.id,
        name: 'fw-reissued',
      });
      const first = await postEnroll(cp, { token: enrollmentToken, agentVersion: 'test-1.0' });
      expect(first.status).toBe(200);
      const old = { agentId: agent.id, creds: (await first.json()) as typeof a.creds };
      const c = await connectAs(old);
      const online = async () => (await fleet.owner.api.agents.get({ agentId: agent.id })).online;
      await c.publishAsync(topics.status(agent.id), JSON.stringify({ state: 'online' }), {
        qos: 1,
        retain: true,
      });
      await waitFor(online, 5_000, 'the agent online');
      const gone = closed(c);
      await fleet.owner.api.agents.revoke({ agentId: agent.id });
      await gone;
      await expect(connectAs(old)).rejects.toThrow();
      // Mosquitto drops a deleted client without its will, and the broker still holds its retained
      // `online`: the control plane says offline anyway, and stays so.
      expect(await online()).toBe(false);
      await sleep(500);
      expect(await online()).toBe(false);

      const reissued = await fleet.owner.api.agents.reissueEnrollment({ agentId: agent.id });
      expect(reissued.enrollmentToken).not.toBe(enrollmentToken);
      const stale = await postEnroll(cp, { token: enrollmentToken, agentVersion: 'test-1.0' });
      expect(stale.status).toBeGreaterThanOrEqual(400);
      const again = await postEnroll(cp, { token: reissued.enrollmentToken, agentVersion: 'test-1.0' });
      expect(again.status).toBe(200);
      const fresh = { agentId: agent.id, creds: (await again.json()) as typeof a.creds };
      const c2 = await connectAs(fresh);
      expect(c2.connected).toBe(true);
      await c2.publishAsync(topics.status(agent.id), JSON.stringify({ state: 'online' }), {
        qos: 1,
        retain: true,
      });
      await waitFor(online, 5_000, 'the re-enrolled agent online again');
      await expect(connectAs(old)).rejects.toThrow();
    });
  });
}
