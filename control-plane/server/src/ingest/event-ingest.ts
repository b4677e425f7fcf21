import {
  type DecodeError,
  decode,
  type EventBatch,
  EventAckSchema,
  EventBatchSchema,
  encode,
} from '@sipwall/shared';
import type { Database } from '../db/client.js';
import { touchAgents } from '../db/queries/agents.js';
import { type AgentTenant, agentTenants, recomputePeaks, storeRecords } from '../db/queries/telemetry.js';
import type { Clock } from '../domain/ports.js';
import { type PeakKey, peakKeys, peakKeyString } from '../domain/stats-rollup.js';
import type { Logger } from '../logger.js';
import type { IngestObserver } from './handle-message.js';

export interface EventIngestOptions {
  /** Records waiting for the database, at most; a batch past it is not acknowledged (the agent sends it again). */
  maxQueuedRecords: number;
  /** Records written in one transaction, at most (batches of several agents are combined up to it). */
  maxRecordsPerWrite: number;
  /** Transactions in flight at once (1 for PGlite, which has one connection). */
  writers: number;
  /** Peaks of the hours touched by new calls are recomputed this long after (coalesced). */
  peakDelayMs: number;
  /** How long an agent's site and organization are cached. */
  tenantCacheMs: number;
}

export const DEFAULT_EVENT_INGEST: EventIngestOptions = {
  maxQueuedRecords: 200_000,
  maxRecordsPerWrite: 5000,
  writers: 4,
  peakDelayMs: 2000,
  tenantCacheMs: 60_000,
};

/** The next peak recompute waits at least this many times as long as the last one took. */
const PEAK_BACKOFF = 5;

/** Counters of the telemetry path (part of the bridge's `IngestStats`). */
export interface EventIngestStats {
  /** Records in valid batches received. */
  recordsReceived: number;
  /** Records stored for the first time. */
  recordsStored: number;
  /** Records already stored (a batch sent again after a lost ack or a reconnect). */
  recordsDuplicate: number;
  /** Records of kinds the control plane does not store (dialog, media). */
  recordsSkipped: number;
  /** Batches acknowledged to their agent. */
  batchesAcked: number;
  /** Batches refused because the queue was full (not acknowledged: the agent sends them again). */
  queueOverflow: number;
  /** Batches whose transaction failed (not acknowledged). */
  writeFailed: number;
  /** Records waiting for the database now. */
  queuedRecords: number;
  /** Age of the newest stored batch when it was committed (commit time − the agent's `sentAt`), ms. */
  lagMs: number;
}

export function emptyEventStats(): EventIngestStats {
  return {
    recordsReceived: 0,
    recordsStored: 0,
    recordsDuplicate: 0,
    recordsSkipped: 0,
    batchesAcked: 0,
    queueOverflow: 0,
    writeFailed: 0,
    queuedRecords: 0,
    lagMs: 0,
  };
}

export type AcceptOutcome =
  | { kind: 'queued' }
  | { kind: 'overflow' }
  | { kind: 'ignored'; reason: string }
  | { kind: 'invalid'; error: DecodeError };

export interface EventIngestDeps {
  db: Database;
  clock: Clock;
  logger: Logger;
  stats: EventIngestStats & { unknownAgent: number; processed: number };
  /** Publishes an `ack` payload to an agent (QoS 1). */
  publishAck(agentId: string, payload: string): Promise<void>;
  /** Told what each valid batch says in passing (the agent's outbox depth, for /metrics). */
  observe?: IngestObserver | undefined;
}

export interface EventIngest {
  accept(agentId: string, payload: Uint8Array): AcceptOutcome;
  /** Resolves when everything accepted so far is stored, acknowledged and its peaks recomputed. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

interface Queued {
  agentId: string;
  batch: EventBatch;
}

/**
 * The control plane's telemetry path: validated `events` batches wait in a bounded queue; writers
 * take several batches at a time (up to `maxRecordsPerWrite` records) into one transaction that
 * stores the records idempotently and adds the new ones to the hourly roll-ups; only after the
 * commit does each batch's agent get its `ack`. Peak concurrency of the hours the new calls touch
 * is recomputed shortly after, coalesced.
 */
export function createEventIngest(
  deps: EventIngestDeps,
  options: Partial<EventIngestOptions> = {},
): EventIngest {
  const opts = { ...DEFAULT_EVENT_INGEST, ...options };
  const { stats } = deps;
  const log = deps.logger.child({ component: 'event-ingest' });
  const queue: Queued[] = [];
  const tenants = new Map<string, { tenant: AgentTenant | null; until: number }>();
  const writes = new Set<Promise<void>>();
  const dirtyPeaks = new Map<string, PeakKey>();
  let peakTimer: NodeJS.Timeout | undefined;
  let peakRun: Promise<void> = Promise.resolve();
  let lastPeakMs = 0;
  let closed = false;

  const resolveTenants = async (agentIds: string[]): Promise<Map<string, AgentTenant | null>> => {
    const now = deps.clock().getTime();
    const out = new Map<string, AgentTenant | null>();
    const missing: string[] = [];
    for (const id of agentIds) {
      const c = tenants.get(id);
      if (c !== undefined && c.until > now) out.set(id, c.tenant);
      else missing.push(id);
    }
    if (missing.length > 0) {
      const found = new Map((await agentTenants(deps.db, missing)).map((t) => [t.agentId, t]));
      for (const id of missing) {
        const t = found.get(id) ?? null;
        tenants.set(id, { tenant: t, until: now + opts.tenantCacheMs });
        out.set(id, t);
      }
    }
    return out;
  };

  const schedulePeaks = () => {
    if (peakTimer !== undefined || dirtyPeaks.size === 0) return;
    // A recompute sweeps every call of the hour (the organization's: the whole fleet's), so under
    // load it waits at least PEAK_BACKOFF times as long as the last one took: at most about a
    // sixth of the database's time goes to peaks, the rest to storing.
    peakTimer = setTimeout(
      () => {
        peakTimer = undefined;
        runPeaks();
      },
      Math.max(opts.peakDelayMs, PEAK_BACKOFF * lastPeakMs),
    );
  };
  const runPeaks = () => {
    peakRun = peakRun.then(async () => {
      const keys = [...dirtyPeaks.values()];
      dirtyPeaks.clear();
      if (keys.length === 0) return;
      const t0 = performance.now();
      try {
        await recomputePeaks(deps.db, keys);
        lastPeakMs = performance.now() - t0;
      } catch (e) {
        log.error(
          { err: e, keys: keys.length, first: peakKeyString(keys[0]!) },
          'peak concurrency recompute failed',
        );
      }
    });
    return peakRun;
  };

  const write = async (group: Queued[]): Promise<void> => {
    const count = group.reduce((n, q) => n + q.batch.records.length, 0);
    try {
      const known = await resolveTenants([...new Set(group.map((q) => q.agentId))]);
      const stored = group.filter((q) => {
        if (known.get(q.agentId)) return true;
        stats.unknownAgent++;
        log.debug({ agentId: q.agentId }, 'events from an unknown agent dropped');
        return false;
      });
      const items = stored.flatMap((q) =>
        q.batch.records.map((record) => ({ record, tenant: known.get(q.agentId)! })),
      );
      const inserted = await storeRecords(deps.db, items);
      const at = deps.clock();
      await touchAgents(deps.db, { agentIds: stored.map((q) => q.agentId), at });
      for (const it of items)
        if (it.record.kind === 'call' && inserted.has(it.record.id))
          for (const k of peakKeys(it.record, it.tenant)) dirtyPeaks.set(peakKeyString(k), k);
      schedulePeaks();
      const claimed = new Set<string>();
      for (const q of stored) {
        let fresh = 0;
        let dup = 0;
        let skipped = 0;
        for (const r of q.batch.records) {
          if (r.kind === 'dialog' || r.kind === 'media') skipped++;
          else if (inserted.has(r.id) && !claimed.has(r.id)) {
            claimed.add(r.id);
            fresh++;
          } else dup++;
        }
        stats.recordsStored += fresh;
        stats.recordsDuplicate += dup;
        stats.recordsSkipped += skipped;
        stats.processed++;
        stats.lagMs = Math.max(0, at.getTime() - Date.parse(q.batch.sentAt));
        const ack = encode(EventAckSchema, { v: 1, msgId: q.batch.msgId, stored: fresh, duplicates: dup });
        // Not awaited: while the broker is away mqtt.js holds the ack until it reconnects, and a
        // lost ack only makes the agent send the batch again (stored once).
        void deps.publishAck(q.agentId, ack).then(
          () => {
            stats.batchesAcked++;
          },
          (e: Error) =>
            log.warn({ err: e.message, agentId: q.agentId }, 'cannot publish ack (the agent sends again)'),
        );
      }
    } catch (e) {
      stats.writeFailed += group.length;
      log.error(
        { err: e, batches: group.length, records: count },
        'storing telemetry failed (agents send again)',
      );
    } finally {
      stats.queuedRecords -= count;
    }
  };

  // The pump runs on the next turn of the event loop, never synchronously from `accept` or a
  // commit: PGlite runs in this thread and a write's statements chain through microtasks only, so
  // a write started at once would take just the one batch that arrived; after a turn every batch
  // already read from the sockets is queued, and one transaction takes them together.
  let pumpScheduled: NodeJS.Immediate | undefined;
  const schedulePump = () => {
    if (pumpScheduled !== undefined) return;
    pumpScheduled = setImmediate(() => {
      pumpScheduled = undefined;
      pump();
    });
  };
  const pump = () => {
    while (!closed && writes.size < opts.writers && queue.length > 0) {
      const group: Queued[] = [];
      let n = 0;
      while (
        queue.length > 0 &&
        (group.length === 0 || n + queue[0]!.batch.records.length <= opts.maxRecordsPerWrite)
      ) {
        const q = queue.shift()!;
        n += q.batch.records.length;
        group.push(q);
      }
      const p: Promise<void> = write(group).finally(() => {
        writes.delete(p);
        schedulePump();
      });
      writes.add(p);
    }
  };

  return {
    accept(agentId, payload) {
      const r = decode(EventBatchSchema, payload);
      if (!r.ok) return { kind: 'invalid', error: r.error };
      if (r.value.agentId !== agentId) return { kind: 'ignored', reason: 'agentId does not match topic' };
      if (closed) return { kind: 'ignored', reason: 'closing' };
      if (r.value.outbox !== undefined) deps.observe?.outbox?.(agentId, r.value.outbox);
      const n = r.value.records.length;
      if (stats.queuedRecords + n > opts.maxQueuedRecords) {
        stats.queueOverflow++;
        return { kind: 'overflow' };
      }
      stats.recordsReceived += n;
      stats.queuedRecords += n;
      queue.push({ agentId, batch: r.value });
      schedulePump();
      return { kind: 'queued' };
    },
    async idle() {
      while (writes.size > 0 || pumpScheduled !== undefined) {
        if (writes.size > 0) await Promise.all([...writes]);
        // A scheduled pump runs before this later immediate, starting the writes it waits for.
        else await new Promise<void>((resolve) => setImmediate(resolve));
      }
      if (peakTimer !== undefined) {
        clearTimeout(peakTimer);
        peakTimer = undefined;
      }
      await runPeaks();
    },
    async close() {
      await this.idle();
      closed = true;
    },
  };
}
