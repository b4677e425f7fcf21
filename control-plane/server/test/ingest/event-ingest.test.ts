import { randomUUID } from 'node:crypto';
import type { TelemetryRecord } from '@sipwall/shared';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../../src/db/client.js';
import { agents, organizations, sites } from '../../src/db/schema/index.js';
import { createEventIngest, type EventIngestOptions } from '../../src/ingest/event-ingest.js';
import { emptyStats } from '../../src/ingest/handle-message.js';
import { silentLogger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const AGENT = 'agent-ingest-1';

function security(): TelemetryRecord {
  return {
    id: randomUUID(),
    at: new Date().toISOString(),
    kind: 'security',
    event: 'auth-failure',
    source: '192.0.2.1',
    detail: '',
  };
}
const batch = (agentId: string, records: TelemetryRecord[]) =>
  Buffer.from(
    JSON.stringify({ v: 1, agentId, msgId: randomUUID(), sentAt: new Date().toISOString(), records }),
  );

describe(`event ingest: bounded queue, unknown agents, acks after commit (${process.env['DATABASE_URL'] ? 'postgres' : 'pglite'})`, () => {
  let testDb: TestDatabase;
  let handle: DatabaseHandle;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    handle = await openDatabase(testDb.target);
    const [org] = await handle.db.insert(organizations).values({ name: 'o' }).returning();
    const [site] = await handle.db.insert(sites).values({ name: 's', organizationId: org!.id }).returning();
    await handle.db.insert(agents).values({ id: AGENT, siteId: site!.id, name: 'a' });
  });
  afterAll(async () => {
    await handle?.close();
    await testDb?.drop();
  });

  const setup = (opts: Partial<EventIngestOptions>) => {
    const stats = emptyStats();
    const acks: { agentId: string; ack: { msgId: string; stored: number; duplicates: number } }[] = [];
    const ingest = createEventIngest(
      {
        db: handle.db,
        clock: () => new Date(),
        logger: silentLogger(),
        stats,
        publishAck: async (agentId, payload) => {
          acks.push({ agentId, ack: JSON.parse(payload) });
        },
      },
      { writers: 1, peakDelayMs: 0, ...opts },
    );
    return { stats, acks, ingest };
  };

  it('past the queue bound a batch is refused (left for the agent to send again), the rest is stored and acked', async () => {
    const { stats, acks, ingest } = setup({ maxQueuedRecords: 3 });
    const first = batch(AGENT, [security(), security()]);
    expect(ingest.accept(AGENT, first).kind).toBe('queued');
    expect(ingest.accept(AGENT, batch(AGENT, [security(), security()])).kind).toBe('overflow');
    await ingest.idle();
    expect(stats).toMatchObject({ queueOverflow: 1, recordsReceived: 2, recordsStored: 2, queuedRecords: 0 });
    expect(acks.map((a) => a.ack)).toEqual([
      { v: 1, msgId: JSON.parse(first.toString()).msgId, stored: 2, duplicates: 0 },
    ]);
    // With room again it is taken.
    expect(ingest.accept(AGENT, batch(AGENT, [security()])).kind).toBe('queued');
    await ingest.close();
    expect(stats.recordsStored).toBe(3);
  });

  it('a record repeated in queued batches is stored once; each batch is acked with its own counts', async () => {
    const { stats, acks, ingest } = setup({ maxRecordsPerWrite: 100 });
    const shared = security();
    const payloads = [batch(AGENT, [security()]), batch(AGENT, [shared, security()]), batch(AGENT, [shared])];
    for (const p of payloads) expect(ingest.accept(AGENT, p).kind).toBe('queued');
    await ingest.idle();
    // The shared record: new in the second batch, a duplicate in the third.
    expect(acks.map((a) => [a.ack.stored, a.ack.duplicates])).toEqual([
      [1, 0],
      [2, 0],
      [0, 1],
    ]);
    expect(stats).toMatchObject({ recordsStored: 3, recordsDuplicate: 1 });
  });

  it('an unknown agent is counted and never acked; a batch naming another agent than its topic is ignored; garbage is invalid', async () => {
    const { stats, acks, ingest } = setup({});
    expect(ingest.accept('agent-nobody', batch('agent-nobody', [security()])).kind).toBe('queued');
    expect(ingest.accept(AGENT, batch('agent-other', [security()]))).toEqual({
      kind: 'ignored',
      reason: 'agentId does not match topic',
    });
    expect(ingest.accept(AGENT, Buffer.from('{"v":1')).kind).toBe('invalid');
    await ingest.idle();
    expect(stats.unknownAgent).toBe(1);
    expect(acks).toEqual([]);
  });

  it('batches accepted in one turn of the event loop go into one transaction; their agents are marked seen', async () => {
    let transactions = 0;
    const db = new Proxy(handle.db, {
      get(target, prop, receiver) {
        if (prop === 'transaction') transactions++;
        return Reflect.get(target, prop, receiver);
      },
    });
    const stats = emptyStats();
    const acks: string[] = [];
    const ingest = createEventIngest(
      {
        db,
        clock: () => new Date(),
        logger: silentLogger(),
        stats,
        publishAck: async (_agentId, payload) => {
          acks.push(JSON.parse(payload).msgId);
        },
      },
      { writers: 1, peakDelayMs: 0 },
    );
    await handle.db.update(agents).set({ lastSeenAt: null }).where(eq(agents.id, AGENT));
    const payloads = Array.from({ length: 5 }, () => batch(AGENT, [security(), security()]));
    for (const p of payloads) expect(ingest.accept(AGENT, p).kind).toBe('queued');
    await ingest.close();
    expect(transactions).toBe(1);
    expect(acks).toEqual(payloads.map((p) => JSON.parse(p.toString()).msgId));
    expect(stats).toMatchObject({ recordsStored: 10, queuedRecords: 0 });
    const [row] = await handle.db.select({ at: agents.lastSeenAt }).from(agents).where(eq(agents.id, AGENT));
    expect(row?.at).toBeInstanceOf(Date);
  });
});
