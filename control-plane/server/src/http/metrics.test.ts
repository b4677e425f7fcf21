import { describe, expect, it } from 'vitest';
import { parsePrometheus } from '../../test/helpers/prometheus.js';
import { type MetricsSnapshot, metricsAllowed, renderControlPlaneMetrics } from './metrics.js';

const snapshot: MetricsSnapshot = {
  fleet: { agents: 7, online: 5, pushesPending: 2, pushesFailed: 1 },
  ingest: {
    received: 100,
    processed: 90,
    invalid: 3,
    unknownAgent: 2,
    ignored: 5,
    recordsReceived: 4000,
    recordsStored: 3900,
    recordsDuplicate: 60,
    recordsSkipped: 40,
    batchesAcked: 11,
    queueOverflow: 1,
    writeFailed: 0,
    queuedRecords: 17,
    lagMs: 250,
  },
  outbox: { agentsReporting: 3, depth: 42, maxDepth: 40, dropped: 1 },
  broker: { connected: true },
  rpc: { pending: 0 },
};

describe('renderControlPlaneMetrics', () => {
  it('renders every figure once, in valid text format', () => {
    const m = parsePrometheus(renderControlPlaneMetrics(snapshot));
    expect(m.get('sipwall_cp_agents')).toEqual({ type: 'gauge', value: 7 });
    expect(m.get('sipwall_cp_agents_online')?.value).toBe(5);
    expect(m.get('sipwall_cp_pushes_pending')?.value).toBe(2);
    expect(m.get('sipwall_cp_pushes_failed')?.value).toBe(1);
    expect(m.get('sipwall_cp_ingest_received_total')).toEqual({ type: 'counter', value: 100 });
    expect(m.get('sipwall_cp_ingest_processed_total')?.value).toBe(90);
    expect(m.get('sipwall_cp_ingest_invalid_total')?.value).toBe(3);
    expect(m.get('sipwall_cp_ingest_unknown_agent_total')?.value).toBe(2);
    expect(m.get('sipwall_cp_ingest_ignored_total')?.value).toBe(5);
    expect(m.get('sipwall_cp_ingest_records_stored_total')).toEqual({ type: 'counter', value: 3900 });
    expect(m.get('sipwall_cp_ingest_records_duplicate_total')?.value).toBe(60);
    expect(m.get('sipwall_cp_ingest_queued_records')).toEqual({ type: 'gauge', value: 17 });
    expect(m.get('sipwall_cp_ingest_lag_ms')).toEqual({ type: 'gauge', value: 250 });
    expect(m.get('sipwall_cp_outbox_depth')?.value).toBe(42);
    expect(m.get('sipwall_cp_outbox_depth_max')?.value).toBe(40);
    expect(m.get('sipwall_cp_outbox_agents_reporting')?.value).toBe(3);
    expect(m.get('sipwall_cp_broker_connected')?.value).toBe(1);
    expect(m.get('sipwall_cp_rpc_pending')?.value).toBe(0);
  });
});

describe('metricsAllowed', () => {
  const token = 'scrape-token-0123456789';
  it('lets loopback clients in directly, never through a proxy', () => {
    expect(metricsAllowed({}, { ip: '127.0.0.1' }, { forwarded: false })).toBe(true);
    expect(metricsAllowed({}, { ip: '::1' }, { forwarded: false })).toBe(true);
    expect(metricsAllowed({}, { ip: '127.0.0.1' }, { forwarded: true })).toBe(false);
    expect(metricsAllowed({}, { ip: '192.0.2.10' }, { forwarded: false })).toBe(false);
    expect(metricsAllowed({}, { ip: 'in-process' }, { forwarded: false })).toBe(false);
  });
  it('lets anyone with the bearer token in, and nobody with a wrong one', () => {
    const remote = { ip: '192.0.2.10' };
    expect(metricsAllowed({ token }, remote, { authorization: `Bearer ${token}`, forwarded: true })).toBe(
      true,
    );
    expect(metricsAllowed({ token }, remote, { authorization: `bearer  ${token} `, forwarded: false })).toBe(
      true,
    );
    expect(metricsAllowed({ token }, remote, { authorization: `Bearer ${token}x`, forwarded: false })).toBe(
      false,
    );
    expect(metricsAllowed({ token }, remote, { authorization: token, forwarded: false })).toBe(false);
    expect(metricsAllowed({}, remote, { authorization: `Bearer ${token}`, forwarded: false })).toBe(false);
  });
});
