import {
  AgentStatusSchema,
  encode,
  type LiveRegistrationsPage,
  RpcReplySchema,
  RpcRequestSchema,
  topics,
} from '@sipwall/shared';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type SignedIn,
  startTestControlPlane,
  type TestControlPlane,
  waitFor,
} from '../helpers/control-plane.js';
import { createFleet, enrolledAgent } from '../helpers/fleet.js';
import { brokerUnderTest } from '../helpers/broker-under-test.js';
import { connectClient } from '../helpers/mqtt-client.js';
import { trpcError } from '../helpers/trpc-error.js';

const broker = await brokerUnderTest();
const label = `${process.env['DATABASE_URL'] ? 'postgres' : 'pglite'} + ${broker.label}`;

const registrations: LiveRegistrationsPage = {
  total: 1,
  offset: 0,
  truncated: false,
  rows: [
    {
      aor: 'sip:alice@hq.example.test',
      contact: 'sip:alice@192.0.2.7:5060',
      source: '192.0.2.7:5060',
      transport: 'udp',
      mode: 'main',
      registeredAt: '2026-12-06T09:00:00.000Z',
      expiresAt: '2026-12-06T10:00:00.000Z',
      instanceId: null,
    },
  ],
};

/**
 * The control plane's side of live queries against a real broker, with a protocol-level agent
 * (its own enrolled credentials and ACL, answering by hand): correlation, QoS, offline, timeout,
 * tenancy. The real agent process answers in test/fleet/live-queries.test.ts.
 */
describe(`live queries over MQTT rpc (${label})`, () => {
  let cp: TestControlPlane;
  let owner: SignedIn;
  let stranger: SignedIn;
  let viewer: SignedIn;
  let agentId: string;
  let silentId: string;
  const clients: MqttClient[] = [];
  /** Every rpc request the hand-made agent received, with its MQTT flags. */
  const received: { topic: string; qos: number; retain: boolean; payload: string }[] = [];

  async function connectAgent(id: string, creds: { clientId: string; username: string; password: string }) {
    const c = await connectClient(cp.mqttUrl, {
      clientId: creds.clientId,
      username: creds.username,
      password: creds.password,
      protocolVersion: broker.protocolVersion,
      clean: true,
    });
    clients.push(c);
    await c.subscribeAsync(topics.rpc(id, '+'), { qos: 1 });
    await c.publishAsync(topics.status(id), encode(AgentStatusSchema, { state: 'online' }), {
      qos: 1,
      retain: true,
    });
    return c;
  }

  beforeAll(async () => {
    cp = await startTestControlPlane({ ...broker.options, rpcTimeoutMs: 1000 });
    const fleet = await createFleet(cp, 'owner@live.test');
    owner = fleet.owner;
    viewer = await cp.operator('viewer@live.test', [{ organizationId: fleet.org.id, role: 'viewer' }]);
    stranger = (await createFleet(cp, 'stranger@other.test')).owner;

    const answering = await enrolledAgent(cp, owner, fleet.site.id, 'fw-answering');
    agentId = answering.agentId;
    const a = await connectAgent(agentId, answering.creds.mqtt);
    a.on('message', (topic, payload, packet) => {
      received.push({ topic, qos: packet.qos, retain: packet.retain, payload: payload.toString() });
      const req = RpcRequestSchema.parse(JSON.parse(payload.toString()));
      const method = topic.slice(topics.rpc(agentId, '').length);
      const reply =
        method === 'registrations'
          ? encode(RpcReplySchema, {
              v: 1,
              id: req.id,
              ok: true,
              result: { ...registrations, offset: req.params['offset'] },
            })
          : encode(RpcReplySchema, { v: 1, id: req.id, ok: true, result: { rows: 'garbage' } });
      void a.publishAsync(topics.reply(agentId), reply, { qos: 1 });
    });

    const silent = await enrolledAgent(cp, owner, fleet.site.id, 'fw-silent');
    silentId = silent.agentId;
    await connectAgent(silentId, silent.creds.mqtt);
    await waitFor(
      async () => (await owner.api.agents.list({ organizationId: fleet.org.id })).every((x) => x.online),
      10_000,
      'both agents online',
    );
  });

  afterAll(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => {});
    await cp?.close();
    await broker.stop();
  });

  it("returns the agent's answer, asked with QoS 1, not retained, with the page in the payload", async () => {
    const page = await owner.api.live.registrations({ agentId, limit: 10, offset: 0 });
    expect(page).toEqual(registrations);
    const req = received.at(-1)!;
    expect(req.topic).toBe(topics.rpc(agentId, 'registrations'));
    expect(req.qos).toBe(1);
    expect(req.retain).toBe(false);
    expect(JSON.parse(req.payload).params).toEqual({ limit: 10, offset: 0 });
    // A viewer of the organization may read live views too.
    expect((await viewer.api.live.registrations({ agentId, limit: 1, offset: 3 })).offset).toBe(3);
  });

  it('correlates concurrent queries', async () => {
    const pages = await Promise.all(
      [0, 1, 2, 3, 4].map((offset) => owner.api.live.registrations({ agentId, limit: 1, offset })),
    );
    expect(pages.map((p) => p.offset)).toEqual([0, 1, 2, 3, 4]);
  });

  it('an invalid result from the agent is BAD_GATEWAY (agent-error)', async () => {
    const e = await trpcError(owner.api.live.calls({ agentId, limit: 10, offset: 0 }));
    expect(e.code).toBe('BAD_GATEWAY');
    expect((e.cause as { code?: string }).code).toBe('agent-error');
  });

  it('an agent that does not answer → GATEWAY_TIMEOUT (agent-timeout) after the timeout', async () => {
    const started = Date.now();
    const e = await trpcError(owner.api.live.calls({ agentId: silentId, limit: 10, offset: 0 }));
    expect(e.code).toBe('GATEWAY_TIMEOUT');
    expect((e.cause as { code?: string }).code).toBe('agent-timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(cp.rpc.pending()).toBe(0);
  });

  it('an offline agent → PRECONDITION_FAILED (agent-offline) at once', async () => {
    const c = clients[1]!;
    await c.publishAsync(topics.status(silentId), encode(AgentStatusSchema, { state: 'offline' }), {
      qos: 1,
      retain: true,
    });
    await waitFor(
      async () => (await owner.api.agents.get({ agentId: silentId })).online === false,
      5_000,
      'offline',
    );
    const started = Date.now();
    const e = await trpcError(owner.api.live.registrations({ agentId: silentId, limit: 10, offset: 0 }));
    expect(e.code).toBe('PRECONDITION_FAILED');
    expect((e.cause as { code?: string }).code).toBe('agent-offline');
    expect(e.message).toMatch(/offline/);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('tenancy and input: another organization gets NOT_FOUND and nothing is sent; bad pages are refused', async () => {
    const before = received.length;
    expect((await trpcError(stranger.api.live.registrations({ agentId, limit: 10, offset: 0 }))).code).toBe(
      'NOT_FOUND',
    );
    expect((await trpcError(stranger.api.live.calls({ agentId, limit: 10, offset: 0 }))).code).toBe(
      'NOT_FOUND',
    );
    expect(received.length).toBe(before);
    expect((await trpcError((await cp.caller()).live.calls({ agentId, limit: 10, offset: 0 }))).code).toBe(
      'UNAUTHORIZED',
    );
    for (const bad of [{ limit: 0 }, { limit: 501 }, { offset: -1 }]) {
      const e = await trpcError(owner.api.live.registrations({ agentId, limit: 10, offset: 0, ...bad }));
      expect(e.code).toBe('BAD_REQUEST');
    }
    expect((await trpcError(owner.api.live.calls({ agentId: 'NOT AN ID', limit: 1, offset: 0 }))).code).toBe(
      'BAD_REQUEST',
    );
  });
});
