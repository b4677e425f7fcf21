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
