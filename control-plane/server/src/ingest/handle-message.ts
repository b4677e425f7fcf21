import {
  AgentStatusSchema,
  type DecodeError,
  decode,
  EventBatchSchema,
  parseAgentTopic,
  ReportedStateSchema,
} from '@sipwall/shared';
import type { Database } from '../db/client.js';
import { setAgentOnline, setAgentReported, touchAgent } from '../db/queries/agents.js';
import type { Clock } from '../domain/ports.js';

/** Counters of the ingestion path (exported for /healthz and tests). */
export interface IngestStats {
  received: number;
  processed: number;
  invalid: number;
  unknownAgent: number;
  ignored: number;
}

export function emptyStats(): IngestStats {
  return { received: 0, processed: 0, invalid: 0, unknownAgent: 0, ignored: 0 };
}

/** In-memory observers of what agents report in passing (for /metrics); no database work. */
export interface IngestObserver {
  /** An events batch carried the agent's outbox depth. */
  outbox?: ((agentId: string, outbox: { depth: number; dropped: number }) => void) | undefined;
}

/** What happened to one message. */
export type IngestOutcome =
  | { kind: 'processed' }
  | { kind: 'ignored'; reason: string }
  | { kind: 'unknown-agent'; agentId: string }
  | { kind: 'invalid'; error: DecodeError };

/**
 * Applies one inbound MQTT message to the database. Never throws on bad input: every payload
 * goes through the shared codec and a decode failure is an outcome, not an exception.
 */
export async function handleAgentMessage(
  db: Database,
  clock: Clock,
  topic: string,
  payload: Uint8Array,
  observe: IngestObserver = {},
): Promise<IngestOutcome> {
  const parsed = parseAgentTopic(topic);
  if (!parsed) return { kind: 'ignored', reason: 'not an agent topic' };
  // An empty retained payload clears a retained message; nothing to apply.
  if (payload.byteLength === 0) return { kind: 'ignored', reason: 'empty payload' };
  const at = clock();
  const { agentId } = parsed;
  let known: boolean;
  switch (parsed.kind) {
    case 'status': {
      const r = decode(AgentStatusSchema, payload);
      if (!r.ok) return { kind: 'invalid', error: r.error };
      known = await setAgentOnline(db, { agentId, online: r.value.state === 'online', at });
      break;
    }
    case 'reported': {
      const r = decode(ReportedStateSchema, payload);
      if (!r.ok) return { kind: 'invalid', error: r.error };
      known = await setAgentReported(db, {
        agentId,
        appliedVersion: r.value.appliedVersion,
        status: r.value.status,
        rejectedVersion: r.value.rejectedVersion ?? null,
        errors: r.value.errors,
        agentVersion: r.value.agentVersion,
        at,
      });
      break;
    }
    case 'events': {
      const r = decode(EventBatchSchema, payload);
      if (!r.ok) return { kind: 'invalid', error: r.error };
      if (r.value.agentId !== agentId) return { kind: 'ignored', reason: 'agentId does not match topic' };
      if (r.value.outbox !== undefined) observe.outbox?.(agentId, r.value.outbox);
      // Telemetry storage (call records, statistics) is not built yet; we only note liveness.
      await touchAgent(db, { agentId, at });
      known = true;
      break;
    }
    default:
      return { kind: 'ignored', reason: `kind ${parsed.kind} is not ingested` };
  }
  return known ? { kind: 'processed' } : { kind: 'unknown-agent', agentId };
}
