import { randomUUID } from 'node:crypto';
import type { TelemetryRecord } from '@sipwall/shared';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../../src/db/client.js';
import {
  type AgentTenant,
  recomputePeak,
  recomputePeaks,
  storeRecords,
} from '../../src/db/queries/telemetry.js';
import { agents, organizations, sites, statsHourly } from '../../src/db/schema/index.js';
import { type PeakKey, peakKeys, peakKeyString } from '../../src/domain/stats-rollup.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const at = (hh: number, mm: number) => new Date(Date.UTC(2026, 11, 5, hh, mm)).toISOString();

function call(start: string, end: string): TelemetryRecord {
  return {
    id: randomUUID(),
    at: end,
    kind: 'call',
    callId: randomUUID(),
    from: 'sip:a@example.test',
    to: 'sip:b@example.test',
    direction: 'outbound',
    startedAt: start,
    answeredAt: start,
    endedAt: end,
    status: 200,
    disposition: 'answered',
    durationSec: Math.round((Date.parse(end) - Date.parse(start)) / 1000),
  } as TelemetryRecord;
}

describe(`peak concurrency of many hours in one statement (${process.env['DATABASE_URL'] ? 'postgres' : 'pglite'})`, () => {
  let testDb: TestDatabase;
  let handle: DatabaseHandle;
  const tenants: AgentTenant[] = [];

  beforeAll(async () => {
    testDb = await createTestDatabase();
    handle = await openDatabase(testDb.target);
    const [org] = await handle.db.insert(organizations).values({ name: 'o' }).returning();
    for (const name of ['s1', 's2']) {
      const [site] = await handle.db.insert(sites).values({ name, organizationId: org!.id }).returning();
      const agentId = `agent-peaks-${name}`;
      await handle.db.insert(agents).values({ id: agentId, siteId: site!.id, name });
      tenants.push({ agentId, siteId: site!.id, organizationId: org!.id });
    }
  });
  afterAll(async () => {
    await handle?.close();
    await testDb?.drop();
  });

  const peakOf = async (k: PeakKey) => {
    const [row] = await handle.db
      .select({ peak: statsHourly.peakConcurrent })
      .from(statsHourly)
      .where(
        and(eq(statsHourly.scope, k.scope), eq(statsHourly.scopeId, k.scopeId), eq(statsHourly.hour, k.hour)),
      );
    return row?.peak;
  };

  it('gives what recomputePeak gives per key, keeps a higher stored peak, and 0 for an hour without calls', async () => {
    const [t1, t2] = tenants as [AgentTenant, AgentTenant];
    // Site 1: three overlapping at 10:20 (one touching at 10:30 is not concurrent), one spilling into 11.
    // Site 2: two overlapping in hour 10; together the organization has 5 at 10:20.
    const items = [
      ...[call(at(10, 0), at(10, 30)), call(at(10, 10), at(10, 25)), call(at(10, 15), at(10, 40))].map(
        (record) => ({ record, tenant: t1 }),
      ),
      { record: call(at(10, 30), at(10, 45)), tenant: t1 },
      { record: call(at(10, 59), at(11, 2)), tenant: t1 },
      { record: call(at(10, 5), at(10, 50)), tenant: t2 },
      { record: call(at(10, 20), at(10, 21)), tenant: t2 },
    ];
    await storeRecords(handle.db, items);
    const keys = new Map<string, PeakKey>();
    for (const it of items)
      for (const k of peakKeys(it.record as { startedAt: string; endedAt: string }, it.tenant))
        keys.set(peakKeyString(k), k);
    const empty: PeakKey = { ...[...keys.values()][0]!, hour: new Date(at(14, 0)) };
    await recomputePeaks(handle.db, [...keys.values(), empty]);
    const batched = new Map<string, number | undefined>();
    for (const [s, k] of keys) batched.set(s, await peakOf(k));
    expect(await peakOf(empty)).toBe(0);
    for (const [s, k] of keys) expect(await recomputePeak(handle.db, k), s).toBe(batched.get(s));
    const site1 = (h: number): PeakKey => ({
      scope: 'site',
      scopeId: t1.siteId,
      organizationId: t1.organizationId,
      hour: new Date(at(h, 0)),
    });
    const org10: PeakKey = { ...site1(10), scope: 'organization', scopeId: t1.organizationId };
    expect([await peakOf(site1(10)), await peakOf(site1(11)), await peakOf(org10)]).toEqual([3, 1, 5]);

    // A higher stored peak (calls pruned since) stays.
    await handle.db
      .update(statsHourly)
      .set({ peakConcurrent: 9 })
      .where(and(eq(statsHourly.scope, 'site'), eq(statsHourly.scopeId, t1.siteId)));
    await recomputePeaks(handle.db, [site1(10), site1(11)]);
    expect([await peakOf(site1(10)), await peakOf(site1(11))]).toEqual([9, 9]);
  });
});
