import { randomUUID } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, readFile, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { decode, EventAckSchema, encode, type TelemetryRecord, TelemetryRecordSchema } from '@sipwall/shared';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../util/clock.js';
import { writeFileAtomic } from './atomic-write.js';
import {
  AckCursor,
  type BatchLimits,
  batchPayload,
  nextBatchSize,
  type OutboxEntry,
} from './outbox-batch.js';
import { encodeFrame, FRAME_OVERHEAD, scanFrames } from './outbox-frame.js';

export interface OutboxOptions {
  /** Directory of the segment files (`<stateDir>/outbox`). */
  readonly dir: string;
  /** Disk quota: records that would take the outbox past it are dropped (and counted). */
  readonly maxBytes: number;
  /** A segment file is closed and a new one started past this size. */
  readonly segmentBytes: number;
  /** Appended records are written and fsynced together at most this long after the first. */
  readonly flushMs: number;
  readonly batch: BatchLimits;
  /** Batches published and not yet acknowledged, at most. */
  readonly window: number;
  /** A batch not acknowledged this long after it was published is published again. */
  readonly ackTimeoutMs: number;
}

export const DEFAULT_OUTBOX: Omit<OutboxOptions, 'dir' | 'maxBytes'> = {
  segmentBytes: 4 * 1024 * 1024,
  flushMs: 200,
  batch: { maxRecords: 1000, maxBytes: 256 * 1024 },
  window: 4,
  ackTimeoutMs: 30_000,
};

export interface OutboxDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly newId?: () => string;
}

/** Where batches go while the control link is up. */
export interface OutboxLink {
  readonly agentId: string;
  /** Publishes an `events` payload (QoS 1); rejects when the broker is away. */
  send(payload: string): Promise<void>;
}

export interface OutboxStats {
  /** Records in the outbox not yet acknowledged by the control plane. */
  depth: number;
  /** Records dropped since start: past the disk quota, or not valid for the wire. */
  dropped: number;
  diskBytes: number;
  inFlightBatches: number;
  batchesSent: number;
  batchesResent: number;
  recordsAcked: number;
}

interface Segment {
  readonly firstSeq: number;
  readonly path: string;
  count: number;
  bytes: number;
}

interface Batch {
  readonly msgId: string;
  readonly from: number;
  readonly to: number;
  readonly payload: string;
  sentAt: number | undefined;
}

const SEGMENT_SUFFIX = '.seg';
const CURSOR_FILE = 'cursor';
const DROP_LOG_EVERY_MS = 60_000;
const segmentName = (firstSeq: number) => `${String(firstSeq).padStart(16, '0')}${SEGMENT_SUFFIX}`;

/**
 * The agent's durable telemetry outbox. A record is appended to an on-disk segment (length/CRC
 * framed, fsynced in batches) before it may be published; it leaves the disk only after the
 * control plane acknowledged the batch that carried it (`ack` topic), so a broker outage or a
 * restart loses nothing. Unacknowledged batches are published again after a reconnect or an ack
 * timeout, with the same record ids (the control plane stores each id once).
 */
export class Outbox {
  private readonly segments: Segment[] = [];
  private active: FileHandle | undefined;
  /** Appended, not yet on disk. */
  private buffered: { entry: OutboxEntry; frame: Buffer }[] = [];
  private bufferedBytes = 0;
  /** On disk, not yet in a batch. */
  private pending: OutboxEntry[] = [];
  private readonly batches = new Map<string, Batch>();
  private nextSeq: number;
  private link: OutboxLink | undefined;
  private flushTimer: TimerHandle | undefined;
  private ackTimer: TimerHandle | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private cursorWrite: Promise<void> = Promise.resolve();
  private cursorWritten: number;
  private closed = false;
  private lastDropLog = Number.NEGATIVE_INFINITY;
  private droppedSinceLog = 0;
  private readonly counters = { dropped: 0, batchesSent: 0, batchesResent: 0, recordsAcked: 0 };
  private readonly newId: () => string;

  private constructor(
    private readonly opts: OutboxOptions,
    private readonly deps: OutboxDeps,
    private readonly acks: AckCursor,
  ) {
    this.nextSeq = acks.cursor;
    this.cursorWritten = acks.cursor;
    this.newId = deps.newId ?? randomUUID;
  }

  /** Opens the outbox in `opts.dir`, reading back what a previous run left (a torn tail is cut off). */
  static async open(opts: OutboxOptions, deps: OutboxDeps): Promise<Outbox> {
    await mkdir(opts.dir, { recursive: true, mode: 0o700 });
    const names = (await readdir(opts.dir)).filter((n) => /^\d{16}\.seg$/.test(n)).sort();
    const cursorText = await readFile(join(opts.dir, CURSOR_FILE), 'utf8').catch(() => '');
    const firstOnDisk = names.length > 0 ? Number.parseInt(names[0]!, 10) : 0;
    const saved = /^\d+$/.test(cursorText.trim()) ? Number(cursorText.trim()) : firstOnDisk;
    const outbox = new Outbox(opts, deps, new AckCursor(saved));
    for (const name of names) await outbox.recover(name);
    return outbox;
  }

  private async recover(name: string): Promise<void> {
    const path = join(this.opts.dir, name);
    const firstSeq = Number.parseInt(name, 10);
    const scan = scanFrames(await readFile(path));
    if (scan.torn !== undefined) {
      this.deps.logger.warn(
        { segment: name, reason: scan.torn, keptRecords: scan.payloads.length },
        'outbox segment has a torn tail (crash while writing); the tail is skipped',
      );
      await truncate(path, scan.validBytes);
    }
    const count = scan.payloads.length;
    // Records lost between segments (a damaged segment cut short) can never be acknowledged:
    // count them as done, or the cursor would wait for them and the outbox never shrink.
    if (firstSeq > this.nextSeq && this.nextSeq >= this.acks.cursor) {
      this.deps.logger.warn({ from: this.nextSeq, to: firstSeq }, 'outbox records missing between segments');
      this.acks.ack(this.nextSeq, firstSeq);
    }
    if (firstSeq + count <= this.acks.cursor) {
      await rm(path, { force: true });
      return;
    }
    this.segments.push({ firstSeq, path, count, bytes: scan.validBytes });
    scan.payloads.forEach((p, i) => {
      const seq = firstSeq + i;
      if (seq >= this.acks.cursor) this.pending.push({ seq, json: p.toString('utf8') });
    });
    this.nextSeq = Math.max(this.nextSeq, firstSeq + count);
  }

  stats(): OutboxStats {
    return {
      depth: this.nextSeq - this.acks.cursor,
      dropped: this.counters.dropped,
      diskBytes: this.diskBytes(),
      inFlightBatches: this.batches.size,
      batchesSent: this.counters.batchesSent,
      batchesResent: this.counters.batchesResent,
      recordsAcked: this.counters.recordsAcked,
    };
  }

  private diskBytes(): number {
    let n = this.bufferedBytes;
    for (const s of this.segments) n += s.bytes;
    return n;
  }

  /** Appends records (validated against the wire schema); durable within `flushMs`. */
  append(records: readonly TelemetryRecord[]): void {
    if (this.closed) return;
    let used = this.diskBytes();
    for (const r of records) {
      let json: string;
      try {
        json = encode(TelemetryRecordSchema, r);
      } catch (e) {
        this.deps.logger.error(
          { err: (e as Error).message, kind: r.kind },
          'telemetry record not valid; dropped',
        );
        this.drop(1);
        continue;
      }
      const payload = Buffer.from(json, 'utf8');
      if (used + payload.length + FRAME_OVERHEAD > this.opts.maxBytes) {
        this.drop(1);
        continue;
      }
      const frame = encodeFrame(payload);
      used += frame.length;
      this.buffered.push({ entry: { seq: this.nextSeq++, json }, frame });
      this.bufferedBytes += frame.length;
    }
    if (this.buffered.length > 0)
      this.flushTimer ??= this.deps.clock.setTimeout(() => void this.flush(), this.opts.flushMs);
  }

  private drop(n: number): void {
    this.counters.dropped += n;
    this.droppedSinceLog += n;
    const now = this.deps.clock.now();
    if (now - this.lastDropLog < DROP_LOG_EVERY_MS) return;
    this.deps.logger.warn(
      { dropped: this.droppedSinceLog, droppedTotal: this.counters.dropped, maxBytes: this.opts.maxBytes },
      'telemetry outbox full or record invalid: records dropped',
    );
    this.lastDropLog = now;
    this.droppedSinceLog = 0;
  }

  /** Writes and fsyncs what was appended so far (one write, one fsync); then publishes what it can. */
  flush(): Promise<void> {
    if (this.flushTimer !== undefined) this.deps.clock.clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.flushing = this.flushing.then(() => this.writeBuffered());
    return this.flushing;
  }

  private async writeBuffered(): Promise<void> {
    const items = this.buffered;
    if (items.length === 0) return;
    this.buffered = [];
    const bytes = this.bufferedBytes;
    this.bufferedBytes = 0;
    try {
      let seg = this.segments.at(-1);
      if (this.active === undefined || seg === undefined || seg.bytes >= this.opts.segmentBytes) {
        await this.active?.close();
        const firstSeq = items[0]!.entry.seq;
        seg = { firstSeq, path: join(this.opts.dir, segmentName(firstSeq)), count: 0, bytes: 0 };
        this.active = await open(seg.path, 'a', 0o600);
        this.segments.push(seg);
      }
      await this.active.write(Buffer.concat(items.map((i) => i.frame)));
      await this.active.datasync();
      seg.count += items.length;
      seg.bytes += bytes;
    } catch (e) {
      // The records stay appended in memory and are written with the next flush, into a new
      // segment: a partial write left at this one's tail reads as a torn tail after a restart.
      this.deps.logger.error({ err: (e as Error).message }, 'cannot write the telemetry outbox');
      await this.active?.close().catch(() => {});
      this.active = undefined;
      this.buffered = [...items, ...this.buffered];
      this.bufferedBytes += bytes;
      this.flushTimer ??= this.deps.clock.setTimeout(() => void this.flush(), 1000);
      return;
    }
    for (const i of items) this.pending.push(i.entry);
    this.pump();
  }

  /** The control link is up: publish what waits (unacknowledged batches first). */
  connected(link: OutboxLink): void {
    this.link = link;
    for (const b of this.batches.values()) b.sentAt = undefined;
    this.pump();
  }

  /** The control link is down: batches in flight will be published again on the next connect. */
  disconnected(): void {
    this.link = undefined;
    for (const b of this.batches.values()) b.sentAt = undefined;
  }

  /** An `ack` payload from the control plane; returns false when it is not a valid ack. */
  acked(payload: Uint8Array): boolean {
    const r = decode(EventAckSchema, payload);
    if (!r.ok) {
      this.deps.logger.warn({ error: r.error }, 'invalid ack from the control plane ignored');
      return false;
    }
    const b = this.batches.get(r.value.msgId);
    if (b === undefined) return true; // a repeated ack of a batch already trimmed
    this.batches.delete(b.msgId);
    this.counters.recordsAcked += b.to - b.from;
    if (this.acks.ack(b.from, b.to)) this.persistCursor();
    this.pump();
    return true;
  }

  private pump(): void {
    const link = this.link;
    if (link === undefined || this.closed) return;
    for (const b of this.batches.values()) if (b.sentAt === undefined) this.publish(link, b, true);
    while (this.batches.size < this.opts.window && this.pending.length > 0) {
      const n = nextBatchSize(this.pending, this.opts.batch);
      const entries = this.pending.splice(0, n);
      const msgId = this.newId();
      const { depth, dropped } = this.stats();
      const payload = batchPayload(
        {
          agentId: link.agentId,
          msgId,
          sentAt: new Date(this.deps.clock.now()).toISOString(),
          depth,
          dropped,
        },
        entries,
      );
      const b: Batch = {
        msgId,
        from: entries[0]!.seq,
        to: entries.at(-1)!.seq + 1,
        payload,
        sentAt: undefined,
      };
      this.batches.set(msgId, b);
      this.publish(link, b, false);
    }
  }

  private publish(link: OutboxLink, b: Batch, again: boolean): void {
    b.sentAt = this.deps.clock.now();
    if (again) this.counters.batchesResent++;
    else this.counters.batchesSent++;
    link.send(b.payload).catch((e: Error) => {
      this.deps.logger.debug({ err: e.message, msgId: b.msgId }, 'events batch not published; retried later');
      if (this.batches.has(b.msgId)) b.sentAt = undefined;
    });
    this.ackTimer ??= this.deps.clock.setTimeout(() => this.checkAcks(), this.opts.ackTimeoutMs / 2);
  }

  private checkAcks(): void {
    this.ackTimer = undefined;
    if (this.closed || this.batches.size === 0) return;
    const now = this.deps.clock.now();
    for (const b of this.batches.values())
      if (b.sentAt !== undefined && now - b.sentAt >= this.opts.ackTimeoutMs) b.sentAt = undefined;
    this.pump();
    this.ackTimer ??= this.deps.clock.setTimeout(() => this.checkAcks(), this.opts.ackTimeoutMs / 2);
  }

  /** Records the cursor (coalesced: one write at a time), then deletes fully acknowledged segments. */
  private persistCursor(): void {
    this.cursorWrite = this.cursorWrite.then(async () => {
      const cursor = this.acks.cursor;
      if (cursor === this.cursorWritten) return;
      try {
        await writeFileAtomic(join(this.opts.dir, CURSOR_FILE), String(cursor));
        this.cursorWritten = cursor;
      } catch (e) {
        this.deps.logger.error({ err: (e as Error).message }, 'cannot record the outbox cursor');
        return;
      }
      // Serialized with writes, so the active segment is never closed under a write.
      this.flushing = this.flushing.then(() => this.trim(cursor));
      await this.flushing;
    });
  }

  private async trim(cursor: number): Promise<void> {
    while (this.segments.length > 0) {
      const s = this.segments[0]!;
      const isActive = this.segments.length === 1 && this.active !== undefined;
      if (s.firstSeq + s.count > cursor) break;
      if (isActive) {
        await this.active?.close();
        this.active = undefined;
      }
      this.segments.shift();
      await rm(s.path, { force: true });
    }
  }

  /** Writes what is buffered and stops; unacknowledged records stay on disk for the next start. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    this.link = undefined;
    if (this.ackTimer !== undefined) this.deps.clock.clearTimeout(this.ackTimer);
    await this.cursorWrite;
    await this.active?.close();
    this.active = undefined;
  }
}
