import type { AgentHealth } from './health.js';

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Renders the agent's own gauges and counters in Prometheus text format 0.0.4 (pure). */
export function renderMetrics(h: AgentHealth): string {
  const lines = [
    '# HELP sipwall_agent_up 1 while the agent process is serving.',
    '# TYPE sipwall_agent_up gauge',
    'sipwall_agent_up 1',
    '# HELP sipwall_agent_info Agent build and site.',
    '# TYPE sipwall_agent_info gauge',
    `sipwall_agent_info{version="${escapeLabel(h.version)}",site="${escapeLabel(h.site)}"} 1`,
    '# HELP sipwall_agent_config_applied_version Desired-state version in force (0 = local file only).',
    '# TYPE sipwall_agent_config_applied_version gauge',
    `sipwall_agent_config_applied_version ${h.appliedVersion ?? 0}`,
    '# HELP sipwall_agent_mqtt_connected 1 while connected to the control plane broker.',
    '# TYPE sipwall_agent_mqtt_connected gauge',
    `sipwall_agent_mqtt_connected ${h.controlPlane === 'connected' ? 1 : 0}`,
    '# HELP sipwall_agent_desired_applied_total Desired-state versions applied since start.',
    '# TYPE sipwall_agent_desired_applied_total counter',
    `sipwall_agent_desired_applied_total ${h.desiredApplied}`,
    '# HELP sipwall_agent_desired_rejected_total Desired-state messages rejected since start.',
    '# TYPE sipwall_agent_desired_rejected_total counter',
    `sipwall_agent_desired_rejected_total ${h.desiredRejected}`,
    '# HELP sipwall_agent_desired_reverted_total Applied versions the agent returned from (control plane unreachable within revertAfterSec).',
    '# TYPE sipwall_agent_desired_reverted_total counter',
    `sipwall_agent_desired_reverted_total ${h.desiredReverted}`,
    '# HELP sipwall_agent_sip_listeners SIP listeners bound.',
    '# TYPE sipwall_agent_sip_listeners gauge',
    `sipwall_agent_sip_listeners ${h.sip.length}`,
  ];
  if (h.registrar !== undefined) {
    lines.push(
      '# HELP sipwall_agent_registrations Bindings in the location service, by mode.',
      '# TYPE sipwall_agent_registrations gauge',
      `sipwall_agent_registrations{mode="main"} ${h.registrar.main}`,
      `sipwall_agent_registrations{mode="passive"} ${h.registrar.passive}`,
      '# HELP sipwall_agent_blocked_sources Source addresses blocked for failed authentication.',
      '# TYPE sipwall_agent_blocked_sources gauge',
      `sipwall_agent_blocked_sources ${h.registrar.blockedSources}`,
    );
  }
  if (h.proxy !== undefined) {
    const p = h.proxy;
    lines.push(
      '# HELP sipwall_agent_active_calls Calls through the proxy (early and confirmed).',
      '# TYPE sipwall_agent_active_calls gauge',
      `sipwall_agent_active_calls ${p.activeCalls}`,
      '# HELP sipwall_agent_proxy_requests_total Requests the proxy forwarded statefully, rejected, or forwarded once.',
      '# TYPE sipwall_agent_proxy_requests_total counter',
      `sipwall_agent_proxy_requests_total{outcome="forwarded"} ${p.forwarded}`,
      `sipwall_agent_proxy_requests_total{outcome="rejected"} ${p.rejected}`,
      `sipwall_agent_proxy_requests_total{outcome="stateless"} ${p.statelessForwarded}`,
      `sipwall_agent_proxy_requests_total{outcome="ack"} ${p.acksForwarded}`,
      '# HELP sipwall_agent_calls_refused_total Calls refused by call admission (toll-fraud guard).',
      '# TYPE sipwall_agent_calls_refused_total counter',
      `sipwall_agent_calls_refused_total ${p.callsRefused}`,
    );
  }
  if (h.outbox !== undefined) {
    const o = h.outbox;
    lines.push(
      '# HELP sipwall_agent_outbox_depth Telemetry records in the outbox not yet acknowledged by the control plane.',
      '# TYPE sipwall_agent_outbox_depth gauge',
      `sipwall_agent_outbox_depth ${o.depth}`,
      '# HELP sipwall_agent_outbox_bytes Bytes the telemetry outbox holds on disk (and about to write).',
      '# TYPE sipwall_agent_outbox_bytes gauge',
      `sipwall_agent_outbox_bytes ${o.diskBytes}`,
      '# HELP sipwall_agent_outbox_dropped_total Telemetry records dropped past the outbox disk quota.',
      '# TYPE sipwall_agent_outbox_dropped_total counter',
      `sipwall_agent_outbox_dropped_total ${o.dropped}`,
      '# HELP sipwall_agent_outbox_acked_total Telemetry records the control plane acknowledged as stored.',
      '# TYPE sipwall_agent_outbox_acked_total counter',
      `sipwall_agent_outbox_acked_total ${o.recordsAcked}`,
      '# HELP sipwall_agent_outbox_batches_total Event batches published, first time and again (no ack in time or reconnect).',
      '# TYPE sipwall_agent_outbox_batches_total counter',
      `sipwall_agent_outbox_batches_total{attempt="first"} ${o.batchesSent}`,
      `sipwall_agent_outbox_batches_total{attempt="again"} ${o.batchesResent}`,
    );
  }
  if (h.media !== undefined) {
    const m = h.media;
    lines.push(
      '# HELP sipwall_agent_media_sessions Calls with anchored media (by pinhole driver).',
      '# TYPE sipwall_agent_media_sessions gauge',
      `sipwall_agent_media_sessions{driver="${m.driver}"} ${m.activeSessions}`,
      '# HELP sipwall_agent_sdp_total Session descriptions rewritten or refused (488).',
      '# TYPE sipwall_agent_sdp_total counter',
      `sipwall_agent_sdp_total{outcome="rewritten"} ${m.sdpRewritten}`,
      `sipwall_agent_sdp_total{outcome="refused"} ${m.sdpRefused}`,
      '# HELP sipwall_agent_media_ports_exhausted_total Offers refused with 503: no free media port.',
      '# TYPE sipwall_agent_media_ports_exhausted_total counter',
      `sipwall_agent_media_ports_exhausted_total ${m.portsExhausted}`,
      '# HELP sipwall_agent_pinholes_total Pinholes opened (or refreshed) and closed.',
      '# TYPE sipwall_agent_pinholes_total counter',
      `sipwall_agent_pinholes_total{op="open"} ${m.pinholesOpened}`,
      `sipwall_agent_pinholes_total{op="close"} ${m.pinholesClosed}`,
      '# HELP sipwall_agent_pinhole_errors_total Pinhole driver operations that failed.',
      '# TYPE sipwall_agent_pinhole_errors_total counter',
      `sipwall_agent_pinhole_errors_total ${m.driverErrors}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The process's memory, as `process.memoryUsage()` reports it. */
export interface ProcessMemory {
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

/**
 * The process's memory gauges (Prometheus text, pure): resident set size, the V8 heap (reserved and
 * in use) and memory outside it (Buffers), so an operator can tell a heap that grew from memory
 * the allocator keeps after a load peak.
 */
export function renderProcessMetrics(m: ProcessMemory): string {
  const gauge = (name: string, help: string, value: number) =>
    `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name} ${value}\n`;
  return (
    gauge('process_resident_memory_bytes', 'Resident set size of the agent process.', m.rss) +
    gauge('nodejs_heap_size_total_bytes', 'V8 heap reserved.', m.heapTotal) +
    gauge('nodejs_heap_size_used_bytes', 'V8 heap in use.', m.heapUsed) +
    gauge(
      'nodejs_external_memory_bytes',
      'Memory outside the V8 heap held by JavaScript objects (Buffers included).',
      m.external,
    ) +
    gauge('nodejs_array_buffers_bytes', 'ArrayBuffer and Buffer memory (part of external).', m.arrayBuffers)
  );
}
