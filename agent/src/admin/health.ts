import type { MediaHealth } from '../media/media-service.js';
import type { ProxyHealth } from '../proxy/proxy-service.js';
import type { SipListening } from '../sip-service.js';
import type { OutboxStats } from '../sync/outbox.js';

/** How the agent relates to its control plane right now. */
export type ControlPlaneState = 'standalone' | 'connected' | 'disconnected';

/** What `/healthz` and `/metrics` show; read fresh on every request. */
export interface AgentHealth {
  site: string;
  version: string;
  controlPlane: ControlPlaneState;
  /** Desired-state version in force; null while running on the local file only. */
  appliedVersion: number | null;
  sip: readonly SipListening[];
  /** Desired-state versions applied / rejected / reverted by the agent itself since start. */
  desiredApplied: number;
  desiredRejected: number;
  desiredReverted: number;
  /** Registrar gauges; absent until the registrar runs. */
  registrar?: { readonly main: number; readonly passive: number; readonly blockedSources: number };
  /** Proxy gauges and counters; absent until the proxy runs. */
  proxy?: ProxyHealth;
  /** Media layer gauges and counters; absent until the media layer runs. */
  media?: MediaHealth;
  /** The telemetry outbox; absent for a standalone agent (no control plane, no outbox). */
  outbox?: OutboxStats;
}

export type { ProxyHealth } from '../proxy/proxy-service.js';

/** The seam between the admin API and the rest of the agent. */
export type HealthSource = () => AgentHealth;
