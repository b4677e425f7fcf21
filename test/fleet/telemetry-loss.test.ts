import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ControlPlane, ControlPlaneOptions } from '@sipwall/control-plane';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent } from '../../agent/test/helpers/spawn-agent.js';
import { freePort, haveSipp, SKIP_SUFFIX } from '../../agent/test/helpers/sipp.js';
import {
  startMosquittoDynsec,
  type TestMosquitto,
} from '../../control-plane/server/test/helpers/mosquitto.js';
import { apiClient, eventually } from '../helpers/api-client.js';
import { type ServicesUnderTest, servicesUnderTest } from '../helpers/services.js';
import {
  ADMIN,
  type CallAgent,
  callRows,
  metricAt,
  placeCalls,
  startCallAgent,
  startCallee,
  startCp,
  successfulCalls,
} from '../helpers/telemetry-fleet.js';

const CALLS = 30;
const RATE = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * No telemetry is lost to an outage: two real agents carry SIPp calls while the broker is stopped
 * and the control plane restarted (and one agent restarted while it is away); afterwards every
 * call is in the database exactly once. Embedded defaults: the broker lives in the control plane,
 * so stopping it stops the broker; storage is a PGlite directory that survives. With
 * DATABASE_URL/MQTT_URL: PostgreSQL and a Mosquitto of the test's own that it stops and starts.
 */
describe.skipIf(!haveSipp)(`telemetry survives a broker and control plane outage${SKIP_SUFFIX}`, () => {
  let services: ServicesUnderTest;
  let mosquitto: TestMosquitto | undefined;
  let dir: string;
  let database: ControlPlaneOptions['database'];
  let broker: ControlPlaneOptions['broker'];
  let cp: ControlPlane | undefined;
  const agents: CallAgent[] = [];

  beforeAll(async () => {
    services = await servicesUnderTest();
    dir = mkdtempSync(join(tmpdir(), 'sipwall-loss-'));
    database =
      services.database.kind === 'postgres'
        ? services.database
        : { kind: 'pglite', dataDir: join(dir, 'pglite') };
    if (process.env['MQTT_URL']) {
      mosquitto = await startMosquittoDynsec();
      broker = { kind: 'external', url: mosquitto.adminUrl, provisioning: 'dynsec' };
    } else {
      // A fixed port: the agents' credentials name it, and they come back to it after the restart.
      broker = { kind: 'embedded', port: await freePort() };
    }
    cp = await startCp(database, broker);
  });
  afterAll(async () => {
    for (const a of agents) await a.agent.stop().catch(() => {});
    await cp?.stop();
    await mosquitto?.stop();
    await services?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every call record arrives exactly once', { timeout: 240_000 }, async () => {
    const first = cp!;
    const api = apiClient(first.url);
    await api.auth.signIn.mutate(ADMIN);
    const org = await api.organizations.create.mutate({ name: `Loss (${services.label})` });
    const site = await api.sites.create.mutate({ organizationId: org.id, name: 'Loss site' });
    const ids: string[] = [];
    for (const name of ['loss-a', 'loss-b']) {
      const { agent, enrollmentToken } = await api.agents.create.mutate({ siteId: site.id, name });
      ids.push(agent.id);
      agents.push(await startCallAgent(dir, name, first.url, enrollmentToken));
    }
    for (const id of ids)
      await eventually(
        `agent ${id} online`,
        async () => (await api.agents.get.query({ agentId: id })).online,
      );

    const callee = await startCallee(dir, 'answer', 120);
    const runs = agents.map((a) => placeCalls(dir, a.inside, callee.target, CALLS, RATE, 90));

    // Some calls end while everything is up …
    await eventually('first records stored', async () => (await callRows(first)).length >= 3, 30_000);
    // … then the broker goes away and the control plane restarts.
    await mosquitto?.pause();
    await first.stop();
    cp = undefined;
    const storedBefore = first.bridge.stats().recordsStored;

    const results = await Promise.all(runs);
    callee.stop();
    for (const r of results) expect(successfulCalls(r), r.output).toBe(CALLS);
    // Agent A restarts while the control plane is away: its outbox is on disk.
    const a = agents[0]!;
    await a.agent.stop();
    const restarted = await startAgent(['--config', join(dir, 'loss-a.yaml'), '--admin-port', '0']);
    agents[0] = {
      ...a,
      agent: restarted.agent,
      adminPort: restarted.adminPort,
      metric: metricAt(restarted.adminPort),
    };
    expect(await agents[0].metric('sipwall_agent_outbox_depth')).toBeGreaterThan(0);
    await sleep(1000);

    await mosquitto?.resume();
    const second = await startCp(database, broker);
    cp = second;

    const rows = await eventually(
      `${2 * CALLS} call records`,
      async () => {
        const r = await callRows(second);
        return r.length >= 2 * CALLS ? r : undefined;
      },
      120_000,
    );
    await second.bridge.idle();
    // Exactly once: one row per call, per agent, nothing extra.
    const all = await callRows(second);
    expect(all).toHaveLength(2 * CALLS);
    for (const id of ids) {
      const mine = rows.filter((r) => r.agentId === id);
      expect(mine).toHaveLength(CALLS);
      expect(new Set(mine.map((r) => r.callId)).size).toBe(CALLS);
      expect(mine.every((r) => r.disposition === 'answered')).toBe(true);
    }
    // The outage was real: records were stored before it and by the restarted control plane.
    expect(storedBefore).toBeGreaterThan(0);
    expect(second.bridge.stats().recordsStored).toBeGreaterThan(0);
    expect(storedBefore + second.bridge.stats().recordsStored).toBe(2 * CALLS);
    // The roll-ups count each call once, whatever was sent twice.
    const api2 = apiClient(second.url);
    await api2.auth.signIn.mutate(ADMIN);
    const now = Date.now();
    const points = await api2.stats.series.query({
      target: { scope: 'organization', organizationId: org.id },
      from: new Date(now - 3_600_000).toISOString(),
      to: new Date(now + 3_600_000).toISOString(),
      bucket: 'hour',
    });
    expect(points.reduce((n, p) => n + p.calls, 0)).toBe(2 * CALLS);
    // Both outboxes drain, nothing dropped.
    for (const ag of agents) {
      await eventually(
        'outbox drained',
        async () => (await ag.metric('sipwall_agent_outbox_depth')) === 0,
        60_000,
      );
      expect(await ag.metric('sipwall_agent_outbox_dropped_total')).toBe(0);
    }
  });
});
