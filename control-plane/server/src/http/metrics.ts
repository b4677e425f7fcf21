import { isLoopbackAddress } from '@sipwall/shared';
import type { Context } from 'hono';
import type { FleetCounts } from '../db/queries/fleet-metrics.js';
import type { IngestStats } from '../ingest/handle-message.js';
import type { OutboxTotals } from '../ingest/outbox-gauge.js';
import { safeEqual } from '../security/tokens.js';
import type { ClientFacts } from './client.js';

/** Everything `/metrics` shows: fleet-wide counts only, never a tenant's names, ids or addresses. */
export interface MetricsSnapshot {
  fleet: FleetCounts;
  ingest: IngestStats;
  outbox: OutboxTotals;
  broker: { connected: boolean };
  rpc: { pending: number };
}

type Sample = readonly [labels: string, value: number];
interface Family {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  samples: readonly Sample[];
}

/**
 * One line of help per ingest counter. Typed over `IngestStats`, so a counter added there (an
 * ingest rate, a lag gauge) does not compile until it is described here, and then is exported.
 */
const INGEST_COUNTERS: Record<keyof IngestStats, { name: string; help: string; type?: 'gauge' }> = {
  received: { name: 'sipwall_cp_ingest_received_total', help: 'MQTT messages received from agents.' },
  processed: { name: 'sipwall_cp_ingest_processed_total', help: 'Messages applied to the database.' },
  invalid: { name: 'sipwall_cp_ingest_invalid_total', help: 'Messages dropped as undecodable or failing.' },
  unknownAgent: {
    name: 'sipwall_cp_ingest_unknown_agent_total',
    help: 'Messages from agents not in the database.',
  },
  ignored: { name: 'sipwall_cp_ingest_ignored_total', help: 'Messages ignored (not ingested kinds, empty).' },
  recordsReceived: {
    name: 'sipwall_cp_ingest_records_received_total',
    help: 'Telemetry records in valid event batches.',
  },
  recordsStored: {
    name: 'sipwall_cp_ingest_records_stored_total',
    help: 'Telemetry records stored for the first time.',
  },
  recordsDuplicate: {
    name: 'sipwall_cp_ingest_records_duplicate_total',
    help: 'Telemetry records already stored (a batch sent again).',
  },
  recordsSkipped: {
    name: 'sipwall_cp_ingest_records_skipped_total',
    help: 'Telemetry records of kinds not stored (dialog, media).',
  },
  batchesAcked: {
    name: 'sipwall_cp_ingest_batches_acked_total',
    help: 'Event batches acknowledged to agents.',
  },
  queueOverflow: {
    name: 'sipwall_cp_ingest_queue_overflow_total',
    help: 'Event batches refused with the queue full (agents send them again).',
  },
  writeFailed: {
    name: 'sipwall_cp_ingest_write_failed_total',
    help: 'Event batches whose transaction failed (not acknowledged).',
  },
  queuedRecords: {
    name: 'sipwall_cp_ingest_queued_records',
    help: 'Telemetry records waiting for the database.',
    type: 'gauge',
  },
  lagMs: {
    name: 'sipwall_cp_ingest_lag_ms',
    help: "Age of the newest stored batch at its commit (commit time minus the agent's sentAt), ms.",
    type: 'gauge',
  },
};

const gauge = (name: string, help: string, value: number): Family => ({
  name,
  type: 'gauge',
  help,
  samples: [['', value]],
});

/** Renders the control plane's metrics in Prometheus text format 0.0.4 (pure). */
export function renderControlPlaneMetrics(s: MetricsSnapshot): string {
  const families: Family[] = [
    gauge('sipwall_cp_agents', 'Agents known to the control plane.', s.fleet.agents),
    gauge('sipwall_cp_agents_online', 'Agents whose last status is online.', s.fleet.online),
    gauge(
      'sipwall_cp_pushes_pending',
      'Agents whose desired config version is ahead of the version they applied.',
      s.fleet.pushesPending,
    ),
    gauge(
      'sipwall_cp_pushes_failed',
      'Agents whose latest report rejected their desired state.',
      s.fleet.pushesFailed,
    ),
    ...Object.entries(INGEST_COUNTERS).map(
      ([key, c]): Family => ({
        name: c.name,
        type: c.type ?? 'counter',
        help: c.help,
        samples: [['', s.ingest[key as keyof IngestStats]]],
      }),
    ),
    gauge(
      'sipwall_cp_outbox_agents_reporting',
      'Agents that reported their outbox in the last 15 minutes.',
      s.outbox.agentsReporting,
    ),
    gauge('sipwall_cp_outbox_depth', 'Telemetry records waiting in agent outboxes, summed.', s.outbox.depth),
    gauge('sipwall_cp_outbox_depth_max', 'The largest single agent outbox.', s.outbox.maxDepth),
    gauge(
      'sipwall_cp_outbox_dropped',
      'Records agents dropped past their disk quota since their start, summed.',
      s.outbox.dropped,
    ),
    gauge(
      'sipwall_cp_broker_connected',
      '1 while the control plane is connected to its broker.',
      s.broker.connected ? 1 : 0,
    ),
    gauge('sipwall_cp_rpc_pending', 'Live queries waiting for an agent reply.', s.rpc.pending),
  ];
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
    for (const [labels, value] of f.samples) lines.push(`${f.name}${labels} ${value}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Who may read `/metrics`. */
export interface MetricsAccess {
  /** `SIPWALL_METRICS_TOKEN`: a scraper sends `Authorization: Bearer <token>`. */
  token?: string | undefined;
}

/**
 * Whether a request may read `/metrics` (pure): with the bearer token, or from a loopback client
 * that came straight to us (no `Forwarded`/`X-Forwarded-For`: a reverse proxy on this host would
 * otherwise make every outside client look local).
 */
export function metricsAllowed(
  access: MetricsAccess,
  client: Pick<ClientFacts, 'ip'>,
  headers: { authorization?: string | undefined; forwarded: boolean },
): boolean {
  if (access.token !== undefined) {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(headers.authorization ?? '');
    if (m !== null && safeEqual(m[1]!, access.token)) return true;
  }
  return !headers.forwarded && isLoopbackAddress(client.ip);
}

/** `GET /metrics`: 401 (with `WWW-Authenticate`) unless {@link metricsAllowed}. */
export function metricsHandler(
  access: MetricsAccess,
  client: (c: Context) => ClientFacts,
  snapshot: () => Promise<MetricsSnapshot>,
) {
  return async (c: Context) => {
    const allowed = metricsAllowed(access, client(c), {
      authorization: c.req.header('authorization'),
      forwarded: c.req.header('forwarded') !== undefined || c.req.header('x-forwarded-for') !== undefined,
    });
    if (!allowed) {
      return c.json({ error: 'unauthorized' }, 401, { 'WWW-Authenticate': 'Bearer realm="sipwall-metrics"' });
    }
    return c.body(renderControlPlaneMetrics(await snapshot()), 200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
      'cache-control': 'no-store',
    });
  };
}
