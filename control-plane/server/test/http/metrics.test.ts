import { randomUUID } from 'node:crypto';
import { AgentStatusSchema, EventBatchSchema, encode, ReportedStateSchema, topics } from '@sipwall/shared';
import { sql } from 'drizzle-orm';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane, waitFor } from '../helpers/control-plane.js';
import { createFleet, enrolledAgent } from '../helpers/fleet.js';
import { brokerUnderTest } from '../helpers/broker-under-test.js';
import { connectClient } from '../helpers/mqtt-client.js';
import { parsePrometheus } from '../helpers/prometheus.js';

const broker = await brokerUnderTest();
const TOKEN = 'metrics-scrape-token-0123456789';

/** `/metrics` over real HTTP: the figures must equal what the database and the bridge hold. */
describe(`GET /metrics (${process.env['DATABASE_URL'] ? 'postgres' : 'pglite'}, ${broker.label})`, () => {
  let cp: TestControlPlane;
  const clients: MqttClient[] = [];

  const scrape = (headers: Record<string, string> = {}) => fetch(`${cp.url}/metrics`, { headers });

  beforeAll(async () => {
    cp = await startTestControlPlane({ ...broker.options, metricsToken: TOKEN });
    const { owner, org, site } = await createFleet(cp, 'metrics@a.test');
    const other = await createFleet(cp, 'metrics@b.test');
    // Four agents in two organizations: two online, one never enrolled.
    const a1 = await enrolledAgent(cp, owner, site.id, 'fw-1');
    await enrolledAgent(cp, owner, site.id, 'fw-2');
    const b1 = await enrolledAgent(cp, other.owner, other.site.id, 'fw-b1');
    await other.owner.api.agents.create({ siteId: other.site.id, name: 'fw-never' });
    const at = new Date().toISOString();
    for (const [agent, outbox] of [
      [a1, { depth: 12, dropped: 0 }],
      [b1, { depth: 30, dropped: 2 }],
    ] as const) {
      const c = await connectClient(cp.mqttUrl, {
        clientId: agent.creds.mqtt.clientId,
        username: agent.creds.mqtt.username,
        password: agent.creds.mqtt.password,
        protocolVersion: broker.protocolVersion,
      });
      clients.push(c);
      const id = agent.agentId;
      await c.publishAsync(topics.status(id), encode(AgentStatusSchema, { state: 'online' }), {
        qos: 1,
        retain: true,
      });
      await c.publishAsync(
        topics.events(id),
        encode(EventBatchSchema, {
          v: 1,
          agentId: id,
          msgId: randomUUID(),
          sentAt: at,
          records: [
            { id: randomUUID(), at, kind: 'security', event: 'malformed', source: '192.0.2.1', detail: '' },
          ],
          outbox,
        }),
        { qos: 1 },
      );
    }
    // a1, a2: a push they have not applied (pending); b1: its latest report rejected (failed).
    await owner.api.sites.setConfig({ siteId: site.id, config: { domains: ['x.example.test'] } });
    await clients[1]!.publishAsync(
      topics.reported(b1.agentId),
      encode(ReportedStateSchema, {
        appliedVersion: null,
        status: 'rejected',
        errors: [{ path: 'config', message: 'bad' }],
        agentVersion: 'test',
        reportedAt: at,
      }),
      { qos: 1, retain: true },
    );
    await waitFor(
      async () =>
        (await other.owner.api.agents.list({ organizationId: other.org.id })).some(
          (a) => a.reportedStatus === 'rejected',
        ) && (await owner.api.agents.list({ organizationId: org.id })).some((a) => a.online),
      10_000,
      'status and report ingested',
    );
    await cp.bridge.idle();
  });

  afterAll(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => {});
    await cp?.close();
    await broker.stop();
  });

  it('serves Prometheus text whose figures match the database and the bridge', async () => {
    const res = await scrape();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = parsePrometheus(await res.text());
    const rows = await cp.database.db.execute<{
      total: string;
      online: string;
      rejected: string;
      pending: string;
    }>(sql`
      select count(*) as total,
             count(*) filter (where online) as online,
             count(*) filter (where reported_status in ('rejected', 'reverted')) as rejected,
             count(*) filter (where exists (select 1 from config_versions v where v.agent_id = a.id
                                            and v.version > coalesce(a.applied_version, 0))) as pending
      from agents a`);
    const db = (Array.isArray(rows) ? rows : (rows as { rows: unknown[] }).rows)[0] as Record<string, string>;
    expect(m.get('sipwall_cp_agents')?.value).toBe(Number(db['total']));
    expect(m.get('sipwall_cp_agents')?.value).toBe(4);
    expect(m.get('sipwall_cp_agents_online')?.value).toBe(Number(db['online']));
    expect(m.get('sipwall_cp_agents_online')?.value).toBe(2);
    expect(m.get('sipwall_cp_pushes_pending')?.value).toBe(Number(db['pending']));
    expect(m.get('sipwall_cp_pushes_pending')?.value).toBe(2);
    expect(m.get('sipwall_cp_pushes_failed')?.value).toBe(Number(db['rejected']));
    expect(m.get('sipwall_cp_pushes_failed')?.value).toBe(1);
    expect(m.get('sipwall_cp_outbox_depth')?.value).toBe(42);
    expect(m.get('sipwall_cp_outbox_depth_max')?.value).toBe(30);
    expect(m.get('sipwall_cp_outbox_dropped')?.value).toBe(2);
    expect(m.get('sipwall_cp_outbox_agents_reporting')?.value).toBe(2);
    const stats = cp.bridge.stats();
    expect(m.get('sipwall_cp_ingest_received_total')?.value).toBe(stats.received);
    expect(m.get('sipwall_cp_ingest_processed_total')?.value).toBe(stats.processed);
    expect(stats.processed).toBeGreaterThanOrEqual(5);
    expect(m.get('sipwall_cp_broker_connected')?.value).toBe(1);
  });

  it('never names a tenant: only counts', async () => {
    const text = await (await scrape()).text();
    expect(text).not.toMatch(/ag-[a-z2-7]{12}|fw-|metrics@|org of|\{/);
  });

  it('through a proxy, or from elsewhere, it needs the bearer token', async () => {
    const forwarded = await scrape({ 'x-forwarded-for': '203.0.113.9' });
    expect(forwarded.status).toBe(401);
    expect(forwarded.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await forwarded.text()).not.toMatch(/sipwall_cp/);
    expect((await scrape({ forwarded: 'for=203.0.113.9', authorization: 'Bearer wrong' })).status).toBe(401);
    const withToken = await scrape({ 'x-forwarded-for': '203.0.113.9', authorization: `Bearer ${TOKEN}` });
    expect(withToken.status).toBe(200);
    expect(parsePrometheus(await withToken.text()).get('sipwall_cp_agents')?.value).toBe(4);
  });
});
