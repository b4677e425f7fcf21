import { expect, it } from 'vitest';
import { createAdminApp } from './app.js';
import type { AgentHealth } from './health.js';

const health: AgentHealth = {
  site: 'hq',
  version: '0.1.0',
  controlPlane: 'connected',
  appliedVersion: 7,
  sip: [{ interface: 'inside', role: 'inside', transport: 'udp', address: '127.0.0.1', port: 5060 }],
  desiredApplied: 2,
  desiredRejected: 1,
};

it('GET /healthz reports site, link state, applied version and listeners', async () => {
  const res = await createAdminApp(() => health).request('/healthz');
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({
    status: 'ok',
    site: 'hq',
    version: '0.1.0',
    controlPlane: 'connected',
    appliedVersion: 7,
    sip: health.sip,
  });
});

it('GET /metrics renders Prometheus text', async () => {
  const res = await createAdminApp(() => ({
    ...health,
    controlPlane: 'disconnected',
    appliedVersion: null,
  })).request('/metrics');
  expect(res.headers.get('content-type')).toContain('text/plain');
  const text = await res.text();
  expect(text).toContain('sipwall_agent_up 1');
  expect(text).toContain('sipwall_agent_config_applied_version 0');
  expect(text).toContain('sipwall_agent_mqtt_connected 0');
  expect(text).toContain('sipwall_agent_desired_rejected_total 1');
  expect(text).toContain('sipwall_agent_info{version="0.1.0",site="hq"} 1');
});

it('GET /metrics shows registrar gauges and GET /registrations lists rows', async () => {
  const app = createAdminApp(() => ({ ...health, registrar: { main: 3, passive: 1, blockedSources: 2 } }), {
    registrations: () => [
      {
        aor: 'sip:alice@example.com',
        contact: 'sip:alice@10.0.0.5:5060',
        expiresSec: 120,
        flow: { transport: 'udp', source: '192.0.2.1:40000' },
        instanceId: null,
        regId: null,
        mode: 'passive',
        registeredAt: 0,
      },
    ],
  });
  const metrics = await (await app.request('/metrics')).text();
  expect(metrics).toContain('sipwall_agent_registrations{mode="main"} 3');
  expect(metrics).toContain('sipwall_agent_blocked_sources 2');
  const body = (await (await app.request('/registrations')).json()) as {
    count: number;
    registrations: { mode: string }[];
  };
  expect(body.count).toBe(1);
  expect(body.registrations[0]!.mode).toBe('passive');
});

it('GET /metrics shows proxy gauges and GET /calls lists active calls', async () => {
  const app = createAdminApp(
    () => ({
      ...health,
      proxy: {
        activeCalls: 2,
        forwarded: 10,
        rejected: 3,
        acksForwarded: 4,
        statelessForwarded: 0,
        callsRefused: 1,
      },
    }),
    {
      calls: () => [
        {
          callId: 'c1',
          from: 'sip:alice@example.test',
          to: 'sip:bob@example.test',
          direction: 'internal',
          state: 'confirmed',
          startedAt: '2026-12-06T00:00:00.000Z',
          answeredAt: '2026-12-06T00:00:01.000Z',
          durationSec: 5,
        },
      ],
    },
  );
  const metrics = await (await app.request('/metrics')).text();
  expect(metrics).toContain('sipwall_agent_active_calls 2');
  expect(metrics).toContain('sipwall_agent_proxy_requests_total{outcome="rejected"} 3');
  expect(metrics).toContain('sipwall_agent_calls_refused_total 1');
  const body = (await (await app.request('/calls')).json()) as { count: number; calls: { callId: string }[] };
  expect(body.count).toBe(1);
  expect(body.calls[0]!.callId).toBe('c1');
});
