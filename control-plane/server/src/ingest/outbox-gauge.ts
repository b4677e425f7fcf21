/** The telemetry backlog agents report with each events batch (`EventBatch.outbox`). */
export interface OutboxReport {
  depth: number;
  dropped: number;
}

/** Totals over the agents that reported recently, for `/metrics`. */
export interface OutboxTotals {
  agentsReporting: number;
  depth: number;
  maxDepth: number;
  dropped: number;
}

/** Reports older than this are forgotten (the agent went away or stopped sending batches). */
export const OUTBOX_REPORT_TTL_MS = 15 * 60 * 1000;

/** Keeps the latest outbox report per agent, in memory; reads prune stale ones. */
export class OutboxGauge {
  readonly #latest = new Map<string, OutboxReport & { at: number }>();

  constructor(private readonly ttlMs = OUTBOX_REPORT_TTL_MS) {}

  record(agentId: string, report: OutboxReport, at: number): void {
    this.#latest.set(agentId, { depth: report.depth, dropped: report.dropped, at });
  }

  totals(now: number): OutboxTotals {
    const t: OutboxTotals = { agentsReporting: 0, depth: 0, maxDepth: 0, dropped: 0 };
    for (const [agentId, r] of this.#latest) {
      if (now - r.at > this.ttlMs) {
        this.#latest.delete(agentId);
        continue;
      }
      t.agentsReporting++;
      t.depth += r.depth;
      t.maxDepth = Math.max(t.maxDepth, r.depth);
      t.dropped += r.dropped;
    }
    return t;
  }
}
