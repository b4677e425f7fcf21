import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, type EventBatch, EventBatchSchema, type TelemetryRecord } from '@sipwall/shared';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AckCursor, nextBatchSize } from '../../src/sync/outbox-batch.js';
import { crc32, encodeFrame, scanFrames } from '../../src/sync/outbox-frame.js';
import { DEFAULT_OUTBOX, Outbox, type OutboxOptions } from '../../src/sync/outbox.js';
import { ManualClock } from '../../src/util/clock.js';

const logger = pino({ level: 'silent' });

function security(n: number): Extract<TelemetryRecord, { kind: 'security' }> {
  return {
    id: randomUUID(),
    at: new Date(Date.UTC(2026, 11, 6, 5, 0, n % 60)).toISOString(),
    kind: 'security',
    event: 'auth-failure',
    source: `192.0.2.${n % 250}`,
    detail: `attempt ${n}`,
  };
}

/** A control link that records what was published and lets the test acknowledge it. */
function fakeLink(agentId = 'agent-outbox-1') {
  const sent: EventBatch[] = [];
  let fail = false;
  return {
    sent,
    failNext: (v: boolean) => {
      fail = v;
    },
    link: {
      agentId,
      send: async (payload: string) => {
        if (fail) throw new Error('broker away');
        const r = decode(EventBatchSchema, payload);
        if (!r.ok) throw new Error(`invalid batch: ${JSON.stringify(r.error)}`);
        sent.push(r.value);
      },
    },
  };
}

const ack = (b: EventBatch) =>
  Buffer.from(JSON.stringify({ v: 1, msgId: b.msgId, stored: b.records.length, duplicates: 0 }));
const tick = () => new Promise((r) => setImmediate(r));

let dir: string;
let clock: ManualClock;
const opts = (over: Partial<OutboxOptions> = {}): OutboxOptions => ({
  ...DEFAULT_OUTBOX,
  dir,
  maxBytes: 64 * 1024 * 1024,
  ...over,
});
const open = (over: Partial<OutboxOptions> = {}) => Outbox.open(opts(over), { clock, logger });

beforeEach(async () => {
  dir = join(await mkdtemp(join(tmpdir(), 'sipwall-outbox-')), 'outbox');
  clock = new ManualClock(Date.UTC(2026, 11, 6, 5, 0, 0));
});
afterEach(async () => {
  await rm(join(dir, '..'), { recursive: true, force: true });
});

describe('outbox framing (length + CRC32)', () => {
  it('CRC32 matches the IEEE check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('reads intact frames and stops at a torn or corrupt tail', () => {
    const frames = ['one', 'two', 'three'].map((t) => encodeFrame(Buffer.from(t)));
    const whole = Buffer.concat(frames);
    expect(scanFrames(whole)).toMatchObject({ validBytes: whole.length, torn: undefined });
    expect(scanFrames(whole).payloads.map(String)).toEqual(['one', 'two', 'three']);
    const cut = whole.subarray(0, whole.length - 2);
    expect(scanFrames(cut)).toMatchObject({
      torn: 'short-payload',
      validBytes: frames[0]!.length + frames[1]!.length,
    });
    expect(scanFrames(Buffer.concat([whole, Buffer.from([0, 0, 0])])).torn).toBe('short-header');
    const flipped = Buffer.from(whole);
    flipped[flipped.length - 1]! ^= 0xff;
    const bad = scanFrames(flipped);
    expect(bad.torn).toBe('bad-crc');
    expect(bad.payloads.map(String)).toEqual(['one', 'two']);
  });
});

describe('batch cutting and the ack cursor (pure)', () => {
  it('a batch holds at most maxRecords and about maxBytes, and never nothing', () => {
    const entries = Array.from({ length: 2500 }, (_, i) => ({ seq: i, json: 'x'.repeat(99) }));
    expect(nextBatchSize(entries, { maxRecords: 1000, maxBytes: 1_000_000 })).toBe(1000);
    expect(nextBatchSize(entries, { maxRecords: 1000, maxBytes: 1000 })).toBe(10);
    expect(nextBatchSize([{ seq: 0, json: 'y'.repeat(5000) }], { maxRecords: 10, maxBytes: 1000 })).toBe(1);
  });

  it('the cursor advances only over a contiguous acknowledged prefix', () => {
    const c = new AckCursor(10);
    expect(c.ack(20, 30)).toBe(false);
    expect(c.cursor).toBe(10);
    expect(c.ack(10, 20)).toBe(true);
    expect(c.cursor).toBe(30);
    expect(c.ack(0, 5)).toBe(false);
  });
});

describe('Outbox', () => {
  it('publishes durable records in batches within the window and trims segments only after acks', async () => {
    const ob = await open({ batch: { maxRecords: 100, maxBytes: 1_000_000 }, window: 2 });
    const records = Array.from({ length: 450 }, (_, i) => security(i));
    ob.append(records);
    const f = fakeLink();
    ob.connected(f.link);
    await tick();
    expect(f.sent).toHaveLength(0); // not on disk yet: nothing leaves
    await ob.flush();
    await tick();
    expect(f.sent.map((b) => b.records.length)).toEqual([100, 100]); // window of 2
    expect(ob.stats()).toMatchObject({ depth: 450, inFlightBatches: 2 });
    expect(f.sent[0]!.outbox).toEqual({ depth: 450, dropped: 0 });
    expect(await readdir(dir)).toHaveLength(1);
    // Out of order: the second ack first; the cursor waits for the first.
    expect(ob.acked(ack(f.sent[1]!))).toBe(true);
    await tick();
    expect(f.sent).toHaveLength(3);
    expect(ob.stats().depth).toBe(450);
    for (let i = 0; i < 10 && ob.stats().inFlightBatches > 0; i++) {
      for (const b of [...f.sent]) ob.acked(ack(b));
      await tick();
    }
    expect(f.sent.map((b) => b.records.length)).toEqual([100, 100, 100, 100, 50]);
    const ids = f.sent.flatMap((b) => b.records.map((r) => r.id));
    expect(new Set(ids).size).toBe(450);
    expect(ids).toEqual(records.map((r) => r.id));
    await ob.close();
    expect(ob.stats()).toMatchObject({ depth: 0, recordsAcked: 450 });
    expect((await readdir(dir)).filter((n) => n.endsWith('.seg'))).toEqual([]);
  });

  it('survives a restart: unacknowledged records are published again with the same ids', async () => {
    const first = await open();
    const records = Array.from({ length: 30 }, (_, i) => security(i));
    first.append(records);
    const f1 = fakeLink();
    first.connected(f1.link);
    await first.flush();
    await tick();
    first.acked(ack(f1.sent[0]!)); // the only batch: all 30 acked …
    first.append([security(100), security(101)]); // … these two never are
    await first.flush();
    await tick();
    await first.close();

    const second = await open();
    expect(second.stats().depth).toBe(2);
    const f2 = fakeLink();
    second.connected(f2.link);
    await tick();
    expect(f2.sent.flatMap((b) => b.records.map((r) => r.id))).toEqual(f1.sent[1]!.records.map((r) => r.id));
    await second.close();
  });

  it('skips a torn tail after a crash and keeps appending in a new segment', async () => {
    const first = await open();
    const records = Array.from({ length: 5 }, (_, i) => security(i));
    first.append(records);
    await first.flush();
    await first.close();
    const [segment] = await readdir(dir);
    // A crash mid-write: a header announcing 500 bytes, and only part of them.
    const torn = Buffer.alloc(40);
    torn.writeUInt32BE(500, 0);
    await appendFile(join(dir, segment!), torn);

    const second = await open();
    expect(second.stats().depth).toBe(5);
    second.append([security(9)]);
    await second.flush();
    await second.close();

    const third = await open();
    const f = fakeLink();
    third.connected(f.link);
    await tick();
    expect(f.sent.flatMap((b) => b.records.map((r) => r.id))).toEqual([
      ...records.map((r) => r.id),
      expect.any(String),
    ]);
    expect(f.sent[0]!.records).toHaveLength(6);
    await third.close();
  });

  it('publishes again after an ack timeout and after a reconnect, with the same batch', async () => {
    const ob = await open({ ackTimeoutMs: 10_000 });
    ob.append([security(1), security(2)]);
    const f = fakeLink();
    ob.connected(f.link);
    await ob.flush();
    await tick();
    expect(f.sent).toHaveLength(1);
    clock.advance(5000);
    expect(f.sent).toHaveLength(1);
    clock.advance(5000);
    await tick();
    expect(f.sent).toHaveLength(2);
    expect(f.sent[1]!.msgId).toBe(f.sent[0]!.msgId);
    ob.disconnected();
    const g = fakeLink();
    ob.connected(g.link);
    await tick();
    expect(g.sent.map((b) => b.msgId)).toEqual([f.sent[0]!.msgId]);
    expect(ob.stats().batchesResent).toBe(2);
    // A failed publish leaves the batch for the next attempt.
    g.failNext(true);
    ob.disconnected();
    ob.connected(g.link);
    await tick();
    g.failNext(false);
    ob.disconnected();
    ob.connected(g.link);
    await tick();
    expect(g.sent).toHaveLength(2);
    ob.acked(ack(g.sent[1]!));
    expect(ob.stats().depth).toBe(0);
    // A repeated ack and a malformed one change nothing.
    expect(ob.acked(ack(g.sent[1]!))).toBe(true);
    expect(ob.acked(Buffer.from('{"v":1}'))).toBe(false);
    await ob.close();
  });

  it('drops and counts records past the disk quota, and reports it in the batch', async () => {
    const maxBytes = 1024 * 1024;
    const ob = await open({ maxBytes });
    const big = Array.from({ length: 6000 }, (_, i) => ({ ...security(i), detail: 'd'.repeat(200) }));
    ob.append(big);
    await ob.flush();
    const s = ob.stats();
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.depth + s.dropped).toBe(6000);
    expect(s.diskBytes).toBeLessThanOrEqual(maxBytes);
    const f = fakeLink();
    ob.connected(f.link);
    await tick();
    expect(f.sent[0]!.outbox).toEqual({ depth: s.depth, dropped: s.dropped });
    await ob.close();
  });

  it('a segment missing in the middle (damaged disk) does not stall trimming', async () => {
    await mkdir(dir, { recursive: true });
    const seg = (records: TelemetryRecord[]) =>
      Buffer.concat(records.map((r) => encodeFrame(Buffer.from(JSON.stringify(r)))));
    await writeFile(join(dir, '0000000000000000.seg'), seg([security(1), security(2), security(3)]));
    await writeFile(join(dir, '0000000000000010.seg'), seg([security(4), security(5)]));
    const ob = await open();
    const f = fakeLink();
    ob.connected(f.link);
    await tick();
    expect(f.sent.flatMap((b) => b.records.map((r) => (r.kind === 'security' ? r.detail : r.kind)))).toEqual(
      [1, 2, 3, 4, 5].map((n) => `attempt ${n}`),
    );
    for (const b of f.sent) ob.acked(ack(b));
    await ob.close();
    expect(ob.stats().depth).toBe(0);
    expect((await readdir(dir)).filter((n) => n.endsWith('.seg'))).toEqual([]);
  });

  it('drops and counts a record the wire schema refuses instead of poisoning a batch', async () => {
    const ob = await open();
    ob.append([{ ...security(1), source: 'x'.repeat(100) }, security(2)]);
    await ob.flush();
    expect(ob.stats()).toMatchObject({ depth: 1, dropped: 1 });
    await ob.close();
  });
});
