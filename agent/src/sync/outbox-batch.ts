/** Cutting outbox records into `events` batches (pure). */

/** One record waiting in the outbox: its sequence number and its validated JSON. */
export interface OutboxEntry {
  readonly seq: number;
  readonly json: string;
}

export interface BatchLimits {
  /** At most this many records per batch (the wire contract allows 1000). */
  readonly maxRecords: number;
  /** At most about this many bytes of record JSON per batch (well under `MAX_PAYLOAD_BYTES`). */
  readonly maxBytes: number;
}

/** How many of `pending`'s first entries form the next batch: at least one, within both limits. */
export function nextBatchSize(pending: readonly OutboxEntry[], limits: BatchLimits): number {
  let bytes = 0;
  let n = 0;
  for (const e of pending) {
    if (n >= limits.maxRecords) break;
    const size = Buffer.byteLength(e.json) + 1;
    if (n > 0 && bytes + size > limits.maxBytes) break;
    bytes += size;
    n++;
  }
  return n;
}

/**
 * The `events` payload for pre-validated record JSON (`EventBatchSchema`): assembled as text so a
 * batch of 1000 records is not parsed and validated a second time on its way out.
 */
export function batchPayload(
  head: { agentId: string; msgId: string; sentAt: string; depth: number; dropped: number },
  entries: readonly OutboxEntry[],
): string {
  const h = JSON.stringify({ v: 1, agentId: head.agentId, msgId: head.msgId, sentAt: head.sentAt });
  const outbox = JSON.stringify({ depth: head.depth, dropped: head.dropped });
  return `${h.slice(0, -1)},"records":[${entries.map((e) => e.json).join(',')}],"outbox":${outbox}}`;
}

/**
 * Acknowledged sequence ranges, possibly out of order; `cursor` is the first record not yet known
 * to be stored (every record below it is).
 */
export class AckCursor {
  private readonly ranges = new Map<number, number>();

  constructor(public cursor: number) {}

  /** Marks `[from, to)` stored; returns whether the cursor moved. */
  ack(from: number, to: number): boolean {
    if (to <= this.cursor) return false;
    this.ranges.set(Math.max(from, this.cursor), to);
    const before = this.cursor;
    for (let next = this.ranges.get(this.cursor); next !== undefined; next = this.ranges.get(this.cursor)) {
      this.ranges.delete(this.cursor);
      this.cursor = next;
    }
    return this.cursor !== before;
  }
}
