import { ReportedStateSchema, encode, topics } from '@sipwall/shared';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../../src/db/client.js';
import { agents, organizations, sites } from '../../src/db/schema/index.js';
import { handleReportedBatch } from '../../src/ingest/handle-message.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const A = 'agent-rep-1';
const B = 'agent-rep-2';
const AT = new Date('2026-12-06T08:00:00.000Z');

const report = (
  agentId: string,
  appliedVersion: number | null,
  status: 'applied' | 'rejected' | 'reverted',
) => ({
  topic: topics.reported(agentId),
  payload: Buffer.from(
    encode(ReportedStateSchema, {
      appliedVersion,
      status,
      ...(status === 'applied' ? {} : { rejectedVersion: 9 }),
      errors: status === 'applied' ? [] : [{ path: 'config.domains', message: 'no "it\'s"' }],
      agentVersion: `v-${agentId}`,
      reportedAt: AT.toISOString(),
    }),
  ),
});

describe(`reported states in one statement (${process.env['DATABASE_URL'] ? 'postgres' : 'pglite'})`, () => {
  let testDb: TestDatabase;
  let handle: DatabaseHandle;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    handle = await openDatabase(testDb.target);
    const [org] = await handle.db.insert(organizations).values({ name: 'o' }).returning();
    const [site] = await handle.db.insert(sites).values({ name: 's', organizationId: org!.id }).returning();
    await handle.db.insert(agents).values([
      { id: A, siteId: site!.id, name: 'a' },
      { id: B, siteId: site!.id, name: 'b' },
    ]);
  });
  afterAll(async () => {
    await handle?.close();
    await testDb?.drop();
  });

  it('stores the latest report per agent, and says what happened to each message in order', async () => {
    const outcomes = await handleReportedBatch(handle.db, () => AT, [
      report(A, 3, 'applied'),
      report(B, 2, 'rejected'),
      { topic: topics.reported(A), payload: Buffer.from('{"not":"a report"}') },
      report(A, 4, 'applied'), // later than the first: wins
      report('agent-nobody', 1, 'applied'),
      { topic: topics.reported(B), payload: Buffer.alloc(0) },
    ]);
    expect(outcomes.map((o) => o.kind)).toEqual([
      'processed',
      'processed',
      'invalid',
      'processed',
      'unknown-agent',
      'ignored',
    ]);
    const [a] = await handle.db.select().from(agents).where(eq(agents.id, A));
    const [b] = await handle.db.select().from(agents).where(eq(agents.id, B));
    expect(a).toMatchObject({
      appliedVersion: 4,
      reportedStatus: 'applied',
      reportedErrors: [],
      agentVersion: `v-${A}`,
    });
    expect(a?.reportedAt?.toISOString()).toBe(AT.toISOString());
    expect(b).toMatchObject({
      appliedVersion: 2,
      reportedStatus: 'rejected',
      reportedRejectedVersion: 9,
      reportedErrors: [{ path: 'config.domains', message: 'no "it\'s"' }],
    });
  });

  it('stores a report without an applied version (null)', async () => {
    const [o] = await handleReportedBatch(handle.db, () => AT, [report(B, null, 'reverted')]);
    expect(o?.kind).toBe('processed');
    const [b] = await handle.db.select().from(agents).where(eq(agents.id, B));
    expect(b).toMatchObject({ appliedVersion: null, reportedStatus: 'reverted' });
  });
});
