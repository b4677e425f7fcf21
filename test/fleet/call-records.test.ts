import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ControlPlane } from '@sipwall/control-plane';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveSipp, runSipp, SKIP_SUFFIX } from '../../agent/test/helpers/sipp.js';
import { digestRegister } from '../../agent/test/sipp/register-scenarios.js';
import {
  startMosquittoDynsec,
  type TestMosquitto,
} from '../../control-plane/server/test/helpers/mosquitto.js';
import { apiClient, eventually } from '../helpers/api-client.js';
import { type ServicesUnderTest, servicesUnderTest } from '../helpers/services.js';
import {
  ADMIN,
  callRows,
  type CallAgent,
  placeCalls,
  startCallAgent,
  startCallee,
  startCp,
  successfulCalls,
} from '../helpers/telemetry-fleet.js';

/**
 * Calls from SIPp through a real agent process land as call records in the control plane's
 * database, with the disposition, status and duration the calls had, and in the statistics.
 * On the embedded defaults, and with DATABASE_URL/MQTT_URL on PostgreSQL and a Mosquitto of the
 * test's own (dynsec; a shared broker would share the `$share/cp` group with other runs).
 */
describe.skipIf(!haveSipp)(`call records from SIPp calls through an agent${SKIP_SUFFIX}`, () => {
  let services: ServicesUnderTest;
  let mosquitto: TestMosquitto | undefined;
  let cp: ControlPlane;
  let dir: string;
  let agent: CallAgent | undefined;

  beforeAll(async () => {
    services = await servicesUnderTest();
    if (process.env['MQTT_URL']) mosquitto = await startMosquittoDynsec();
    cp = await startCp(
      services.database,
      mosquitto
        ? { kind: 'external', url: mosquitto.adminUrl, provisioning: 'dynsec' }
        : { kind: 'embedded', port: 0 },
    );
    dir = mkdtempSync(join(tmpdir(), 'sipwall-calls-'));
  });
  afterAll(async () => {
    await agent?.agent.stop().catch(() => {});
    await cp?.stop();
    await mosquitto?.stop();
    await services?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answered and busy calls: one record each, with disposition, status and duration', async () => {
    const api = apiClient(cp.url);
    await api.auth.signIn.mutate(ADMIN);
    const org = await api.organizations.create.mutate({ name: `Calls (${services.label})` });
    const site = await api.sites.create.mutate({ organizationId: org.id, name: 'Call site' });
    const { agent: a, enrollmentToken } = await api.agents.create.mutate({
      siteId: site.id,
      name: 'call-fw',
    });
    agent = await startCallAgent(dir, 'calls', cp.url, enrollmentToken, [
      { user: 'alice', password: 'alice-pw-1234' },
    ]);
    await eventually('agent online', async () => (await api.agents.get.query({ agentId: a.id })).online);

    // A phone registers (digest): one registration record.
    const domain = 'calls.example.test';
    const reg = await runSipp({
      scenario: {
        xml: digestRegister({ user: 'alice', domain, password: 'alice-pw-1234' }),
        name: 'alice.xml',
      },
      dir,
      remote: agent.inside,
      authUri: domain,
    });
    expect(reg.code, reg.output).toBe(0);

    const answer = await startCallee(dir, 'answer', 60);
    const busy = await startCallee(dir, 'busy', 60);
    const answered = await placeCalls(dir, agent.inside, answer.target, 4, 4, 30);
    const refused = await placeCalls(dir, agent.inside, busy.target, 3, 10, 30);
    answer.stop();
    busy.stop();
    expect(successfulCalls(answered), answered.output).toBe(4);
    expect(successfulCalls(refused), refused.output).toBe(3);

    const rows = await eventually('7 call records stored', async () => {
      const r = await callRows(cp);
      return r.length >= 7 ? r : undefined;
    });
    expect(rows).toHaveLength(7);
    expect(new Set(rows.map((r) => r.callId)).size).toBe(7);
    expect(rows.every((r) => r.agentId === a.id)).toBe(true);
    const ok = rows.filter((r) => r.disposition === 'answered');
    expect(ok).toHaveLength(4);
    // SIPp holds each answered call 1.2 s after the ACK: rounded to whole seconds, 1 (2 on a slow box).
    for (const r of ok) {
      expect(r.status).toBe(200);
      expect(r.durationSec).toBeGreaterThanOrEqual(1);
      expect(r.durationSec).toBeLessThanOrEqual(3);
    }
    const b = rows.filter((r) => r.disposition === 'busy');
    expect(b.map((r) => [r.status, r.durationSec])).toEqual([
      [486, 0],
      [486, 0],
      [486, 0],
    ]);

    // The same through the API: recent calls and the hour's statistics.
    const recent = await api.stats.recentCalls.query({ siteId: site.id, limit: 10 });
    expect(recent.total).toBe(7);
    const byes = recent.rows.filter((r) => r.disposition === 'answered').map((r) => r.endReason);
    expect(byes).toEqual(['bye-caller', 'bye-caller', 'bye-caller', 'bye-caller']);
    await cp.bridge.idle();
    const now = Date.now();
    const points = await api.stats.series.query({
      target: { scope: 'site', siteId: site.id },
      from: new Date(now - 3_600_000).toISOString(),
      to: new Date(now + 3_600_000).toISOString(),
      bucket: 'hour',
    });
    const total = points.reduce(
      (s, p) => ({
        calls: s.calls + p.calls,
        answered: s.answered + p.answered,
        peak: Math.max(s.peak, p.peakConcurrent),
      }),
      { calls: 0, answered: 0, peak: 0 },
    );
    expect(total.calls).toBe(7);
    expect(total.answered).toBe(4);
    // 4 calls/s each held ≥ 1.2 s: at least two overlap.
    expect(total.peak).toBeGreaterThanOrEqual(2);

    // The agent's outbox is drained: every record acknowledged.
    const ag = agent;
    await eventually('outbox drained', async () => (await ag.metric('sipwall_agent_outbox_depth')) === 0);
    expect(await ag.metric('sipwall_agent_outbox_acked_total')).toBe(8); // 7 calls + 1 registration
    expect(await ag.metric('sipwall_agent_outbox_dropped_total')).toBe(0);
  });
});
