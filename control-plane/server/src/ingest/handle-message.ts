import {
  AgentStatusSchema,
  type DecodeError,
  decode,
  parseAgentTopic,
  ReportedStateSchema,
} from '@sipwall/shared';
import type { Database } from '../db/client.js';
import { type ReportedRow, setAgentOnline, setAgentsReported } from '../db/queries/agents.js';
import type { Clock } from '../domain/ports.js';
import { type EventIngestStats, emptyEventStats } from './event-ingest.js';

/** Counters of the ingestion path (exported for /healthz and tests); messages, then telemetry records. */
export interface IngestStats extends EventIngestStats {
  received: number;
  processed: number;
  invalid: number;
  unknownAgent: number;
  ignored: number;
}

export function emptyStats(): IngestStats {
  return { received: 0, processed: 0, invalid: 0, unknownAgent: 0, ignored: 0, ...emptyEventStats() };
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
 * Applies one inbound `status` or `reported` message to the database (`events` go to
 * `event-ingest.ts`). Never throws on bad input: every payload
 * goes through the shared codec and a decode failure is an outcome, not an exception.
 */
export async function handleAgentMessage(
  db: Database,
  clock: Clock,
  topic: string,
  payload: Uint8Array,
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
    case 'reported':
      // One decoding and storing path for reports, single or batched.
      return (await handleReportedBatch(db, clock, [{ topic, payload }]))[0]!;
    default:
      return { kind: 'ignored', reason: `kind ${parsed.kind} is not ingested` };
  }
  return known ? { kind: 'processed' } : { kind: 'unknown-agent', agentId };
}

/**
 * Applies consecutive `reported` messages at once (a fleet answering one push sends thousands
 * within a second): each decoded as `handleAgentMessage` would, the latest per agent stored, all
 * in one statement. Returns one outcome per message, in order.
 */
export async function handleReportedBatch(
  db: Database,
  clock: Clock,
  messages: readonly { topic: string; payload: Uint8Array }[],
): Promise<IngestOutcome[]> {
  const at = clock();
  const outcomes: (IngestOutcome | { kind: 'pending'; agentId: string })[] = [];
  const latest = new Map<string, ReportedRow>();
  for (const m of messages) {
    const parsed = parseAgentTopic(m.topic);
    if (parsed?.kind !== 'reported') {
      outcomes.push({ kind: 'ignored', reason: 'not a reported topic' });
      continue;
    }
    if (m.payload.byteLength === 0) {
      outcomes.push({ kind: 'ignored', reason: 'empty payload' });
      continue;
    }
    const r = decode(ReportedStateSchema, m.payload);
    if (!r.ok) {
      outcomes.push({ kind: 'invalid', error: r.error });
      continue;
    }
    // A later report of the same agent replaces an earlier one of this batch (arrival order).
    latest.delete(parsed.agentId);
    latest.set(parsed.agentId, {
      agentId: parsed.agentId,
      appliedVersion: r.value.appliedVersion,
      status: r.value.status,
      rejectedVersion: r.value.rejectedVersion ?? null,
      errors: r.value.errors,
      agentVersion: r.value.agentVersion,
      at,
    });
    outcomes.push({ kind: 'pending', agentId: parsed.agentId });
  }
  const known = await setAgentsReported(db, [...latest.values()]);
  return outcomes.map((o) =>
    o.kind !== 'pending'
      ? o
      : known.has(o.agentId)
        ? { kind: 'processed' }
        : { kind: 'unknown-agent', agentId: o.agentId },
  );
}
