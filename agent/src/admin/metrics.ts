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
  return `${lines.join('\n')}\n`;
}
