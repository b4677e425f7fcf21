import type { TelemetryRecord } from '@sipwall/shared';
import { and, desc, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import { HOUR, type PeakKey, type RecordTenant, rollup, type StatsScope } from '../../domain/stats-rollup.js';
import type { Database } from '../client.js';
import {
  agents,
  callRecords,
  registrationEvents,
  securityEvents,
  sites,
  statsHourly,
} from '../schema/index.js';

/** An agent's place in the tenant tree. */
export interface AgentTenant extends RecordTenant {
  agentId: string;
}

export async function agentTenants(db: Database, agentIds: readonly string[]): Promise<AgentTenant[]> {
  if (agentIds.length === 0) return [];
  return db
    .select({ agentId: agents.id, siteId: agents.siteId, organizationId: sites.organizationId })
    .from(agents)
    .innerJoin(sites, eq(sites.id, agents.siteId))
    .where(inArray(agents.id, [...agentIds]));
}

export interface StoreItem {
  record: TelemetryRecord;
  tenant: AgentTenant;
}

/** Roll-up rows per upsert (10 columns each; Postgres allows 65535 parameters). */
const CHUNK = 1000;

type CallRecordKind = Extract<TelemetryRecord, { kind: 'call' }>;
type RegistrationKind = Extract<TelemetryRecord, { kind: 'registration' }>;
type SecurityKind = Extract<TelemetryRecord, { kind: 'security' }>;

/** A column filled from a record: its SQL name, its Postgres array type, and the value. */
type Column<R> = readonly [name: string, type: string, value: (r: R, t: AgentTenant) => unknown];

const tenantColumns: Column<unknown>[] = [
  ['agent_id', 'text', (_r, t) => t.agentId],
  ['site_id', 'uuid', (_r, t) => t.siteId],
  ['organization_id', 'uuid', (_r, t) => t.organizationId],
];

const callColumns: Column<CallRecordKind>[] = [
  ['id', 'uuid', (r) => r.id],
  ...tenantColumns,
  ['call_id', 'text', (r) => r.callId],
  ['from_uri', 'text', (r) => r.from],
  ['to_uri', 'text', (r) => r.to],
  ['direction', 'text', (r) => r.direction],
  ['started_at', 'timestamptz', (r) => r.startedAt],
  ['answered_at', 'timestamptz', (r) => r.answeredAt],
  ['ended_at', 'timestamptz', (r) => r.endedAt],
  ['status', 'int4', (r) => r.status],
  // Records from agents before `disposition` existed: derived from the answer time and status.
  [
    'disposition',
    'text',
    (r) => r.disposition ?? (r.answeredAt !== null ? 'answered' : r.status >= 500 ? 'failed' : 'rejected'),
  ],
  ['end_reason', 'text', (r) => r.endReason ?? null],
  [
    'duration_sec',
    'int4',
    (r) =>
      r.durationSec ??
      (r.answeredAt === null
        ? 0
        : Math.max(0, Math.round((Date.parse(r.endedAt) - Date.parse(r.answeredAt)) / 1000))),
  ],
  ['codes', 'jsonb', (r) => JSON.stringify(r.codes ?? [])],
  ['packets_in', 'int8', (r) => r.media?.packetsIn ?? null],
  ['packets_out', 'int8', (r) => r.media?.packetsOut ?? null],
  ['bytes_in', 'int8', (r) => r.media?.bytesIn ?? null],
  ['bytes_out', 'int8', (r) => r.media?.bytesOut ?? null],
  ['one_way', 'bool', (r) => r.media?.oneWay ?? null],
  ['mos', 'float4', (r) => r.media?.mos ?? null],
];

const registrationColumns: Column<RegistrationKind>[] = [
  ['id', 'uuid', (r) => r.id],
  ...tenantColumns,
  ['at', 'timestamptz', (r) => r.at],
  ['aor', 'text', (r) => r.aor],
  ['contact', 'text', (r) => r.contact],
  ['action', 'text', (r) => r.action],
  ['expires_sec', 'int4', (r) => r.expiresSec],
  ['source', 'text', (r) => r.source],
  ['transport', 'text', (r) => r.transport],
];

const securityColumns: Column<SecurityKind>[] = [
  ['id', 'uuid', (r) => r.id],
  ...tenantColumns,
  ['at', 'timestamptz', (r) => r.at],
  ['event', 'text', (r) => r.event],
  ['source', 'text', (r) => r.source],
  ['detail', 'text', (r) => r.detail],
];

type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];

/**
 * One `INSERT … SELECT * FROM unnest($1::uuid[], $2::text[], …) ON CONFLICT (id) DO NOTHING
 * RETURNING id` for all rows: one parameter per column instead of one per value, so thousands of
 * rows cost one statement. Names and types come from the constant column lists above, never from input.
 */
async function insertNew<R extends TelemetryRecord>(
  tx: Tx,
  table: string,
  columns: readonly Column<R>[],
  items: readonly StoreItem[],
): Promise<string[]> {
  if (items.length === 0) return [];
  const sorted = [...items].sort((a, b) =>
    a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0,
  );
  const arrays = columns.map(
    ([, type, value]) =>
      sql`${sql.param(sorted.map((it) => value(it.record as R, it.tenant)))}::${sql.raw(type)}[]`,
  );
  const names = sql.raw(columns.map(([name]) => `"${name}"`).join(', '));
  const result = await tx.execute(
    sql`insert into ${sql.raw(`"${table}"`)} (${names}) select * from unnest(${sql.join(arrays, sql`, `)}) on conflict (id) do nothing returning id`,
  );
  return (result as unknown as { rows: { id: string }[] }).rows.map((r) => r.id);
}

/**
 * Stores records idempotently (`ON CONFLICT (id) DO NOTHING RETURNING id`) and, in the same
 * transaction, adds the newly stored ones — never the duplicates — to the hourly roll-ups.
 * Rows are written in id and key order, so concurrent writers take locks in one order.
 * Returns the ids that were new. Records of other kinds (dialog, media) are not stored.
 */
export async function storeRecords(db: Database, items: readonly StoreItem[]): Promise<Set<string>> {
  const calls: StoreItem[] = [];
  const regs: StoreItem[] = [];
  const secs: StoreItem[] = [];
  for (const it of items) {
    if (it.record.kind === 'call') calls.push(it);
    else if (it.record.kind === 'registration') regs.push(it);
    else if (it.record.kind === 'security') secs.push(it);
  }
  return db.transaction(async (tx) => {
    const inserted = new Set<string>([
      ...(await insertNew(tx, 'call_records', callColumns, calls)),
      ...(await insertNew(tx, 'registration_events', registrationColumns, regs)),
      ...(await insertNew(tx, 'security_events', securityColumns, secs)),
    ]);
    const fresh = items.filter((it) => inserted.has(it.record.id));
    const rows = rollup(fresh);
    for (let i = 0; i < rows.length; i += CHUNK) {
      await tx
        .insert(statsHourly)
        .values(rows.slice(i, i + CHUNK))
        .onConflictDoUpdate({
          target: [statsHourly.scope, statsHourly.scopeId, statsHourly.hour],
          set: {
            calls: sql`${statsHourly.calls} + excluded.calls`,
            answered: sql`${statsHourly.answered} + excluded.answered`,
            answeredSec: sql`${statsHourly.answeredSec} + excluded.answered_sec`,
            oneWayCalls: sql`${statsHourly.oneWayCalls} + excluded.one_way_calls`,
            failedAuths: sql`${statsHourly.failedAuths} + excluded.failed_auths`,
            securityEvents: sql`${statsHourly.securityEvents} + excluded.security_events`,
            registrations: sql`${statsHourly.registrations} + excluded.registrations`,
          },
        });
    }
    return inserted;
  });
}

/**
 * Recomputes one hour's peak of concurrent calls from the stored calls' [start, end) intervals
 * (a sweep: +1 at each start, −1 at each end, ends first at equal instants), and keeps the higher
 * of it and the stored value (calls pruned by retention cannot lower a peak).
 */
export async function recomputePeak(db: Database, key: PeakKey): Promise<number> {
  const from = key.hour;
  const to = new Date(key.hour.getTime() + HOUR);
  const scopeColumn = key.scope === 'site' ? callRecords.siteId : callRecords.organizationId;
  const overlaps = sql`${scopeColumn} = ${key.scopeId} and ${callRecords.endedAt} > ${from} and ${callRecords.startedAt} < ${to}`;
  const result = await db.execute<{ peak: number | string | null }>(sql`
    with ev as (
      select greatest(${callRecords.startedAt}, ${from}::timestamptz) as t, 1 as d from ${callRecords} where ${overlaps}
      union all
      select least(${callRecords.endedAt}, ${to}::timestamptz) as t, -1 as d from ${callRecords} where ${overlaps}
    )
    select coalesce(max(c), 0) as peak from (select sum(d) over (order by t, d rows unbounded preceding) as c from ev) s`);
  const rows = (result as unknown as { rows: { peak: number | string | null }[] }).rows;
  const peak = Number(rows[0]?.peak ?? 0);
  await db
    .insert(statsHourly)
    .values({
      scope: key.scope,
      scopeId: key.scopeId,
      organizationId: key.organizationId,
      hour: key.hour,
      peakConcurrent: peak,
    })
    .onConflictDoUpdate({
      target: [statsHourly.scope, statsHourly.scopeId, statsHourly.hour],
      set: { peakConcurrent: sql`greatest(${statsHourly.peakConcurrent}, excluded.peak_concurrent)` },
    });
  return peak;
}

/** Peak keys per statement in `recomputePeaks` (four array parameters, so only the work bounds it). */
const PEAK_CHUNK = 500;

/**
 * `recomputePeak` for many keys, one statement per `PEAK_CHUNK` keys instead of two per key: the
 * same sweep per (scope, hour), partitioned, and one upsert keeping the higher value. Keys are
 * written in (scope, scopeId, hour) order, so concurrent writers lock in one order.
 */
export async function recomputePeaks(db: Database, keys: readonly PeakKey[]): Promise<void> {
  const sorted = [...keys].sort((a, b) => {
    const x = `${a.scope}|${a.scopeId}|${a.hour.toISOString()}`;
    const y = `${b.scope}|${b.scopeId}|${b.hour.toISOString()}`;
    return x < y ? -1 : x > y ? 1 : 0;
  });
  for (let i = 0; i < sorted.length; i += PEAK_CHUNK) {
    const chunk = sorted.slice(i, i + PEAK_CHUNK);
    const scopes = sql.param(chunk.map((k) => k.scope));
    const ids = sql.param(chunk.map((k) => k.scopeId));
    const orgs = sql.param(chunk.map((k) => k.organizationId));
    const hours = sql.param(chunk.map((k) => k.hour.toISOString()));
    await db.execute(sql`
      with k as (
        select * from unnest(${scopes}::text[], ${ids}::uuid[], ${orgs}::uuid[], ${hours}::timestamptz[])
          as k(scope, scope_id, organization_id, hour)
      ),
      c as (
        select k.scope, k.scope_id, k.hour, r.started_at, r.ended_at from k
          join call_records r on r.site_id = k.scope_id and r.ended_at > k.hour and r.started_at < k.hour + interval '1 hour'
          where k.scope = 'site'
        union all
        select k.scope, k.scope_id, k.hour, r.started_at, r.ended_at from k
          join call_records r on r.organization_id = k.scope_id and r.ended_at > k.hour and r.started_at < k.hour + interval '1 hour'
          where k.scope = 'organization'
      ),
      ev as (
        select scope, scope_id, hour, greatest(started_at, hour) as t, 1 as d from c
        union all
        select scope, scope_id, hour, least(ended_at, hour + interval '1 hour') as t, -1 as d from c
      ),
      peaks as (
        select scope, scope_id, hour, max(n) as peak from (
          select scope, scope_id, hour,
            sum(d) over (partition by scope, scope_id, hour order by t, d rows unbounded preceding) as n
          from ev) s
        group by scope, scope_id, hour
      )
      insert into stats_hourly (scope, scope_id, organization_id, hour, peak_concurrent)
      select k.scope, k.scope_id, k.organization_id, k.hour, coalesce(p.peak, 0)
        from k left join peaks p on p.scope = k.scope and p.scope_id = k.scope_id and p.hour = k.hour
        order by k.scope, k.scope_id, k.hour
      on conflict (scope, scope_id, hour)
        do update set peak_concurrent = greatest(stats_hourly.peak_concurrent, excluded.peak_concurrent)`);
  }
}

/** Deletes raw records older than `before` (roll-ups stay). */
export async function pruneRecords(
  db: Database,
  before: Date,
): Promise<{ calls: number; registrations: number; security: number }> {
  const calls = await db
    .delete(callRecords)
    .where(lt(callRecords.endedAt, before))
    .returning({ id: callRecords.id });
  const registrations = await db
    .delete(registrationEvents)
    .where(lt(registrationEvents.at, before))
    .returning({ id: registrationEvents.id });
  const security = await db
    .delete(securityEvents)
    .where(lt(securityEvents.at, before))
    .returning({ id: securityEvents.id });
  return { calls: calls.length, registrations: registrations.length, security: security.length };
}

export interface StatsPoint {
  /** Start of the hour or UTC day. */
  at: Date;
  calls: number;
  answered: number;
  /** Answer-seizure ratio, 0…1; null without calls. */
  asr: number | null;
  /** Average call duration of answered calls, seconds; null without answered calls. */
  acdSec: number | null;
  answeredSec: number;
  peakConcurrent: number;
  failedAuths: number;
  securityEvents: number;
  oneWayCalls: number;
  registrations: number;
}

/**
 * The roll-ups of one site or organization over [from, to), per hour or per UTC day. A day's peak
 * is the highest of its hours' peaks (a peak is an instant, so this is exact).
 */
export async function statsSeries(
  db: Database,
  p: { scope: StatsScope; scopeId: string; from: Date; to: Date; bucket: 'hour' | 'day' },
): Promise<StatsPoint[]> {
  const bucket =
    p.bucket === 'hour' ? sql`${statsHourly.hour}` : sql`date_trunc('day', ${statsHourly.hour}, 'UTC')`;
  const rows = await db
    .select({
      at: sql<Date>`${bucket}`.mapWith((v: string | Date) => new Date(v)),
      calls: sql<number>`sum(${statsHourly.calls})`.mapWith(Number),
      answered: sql<number>`sum(${statsHourly.answered})`.mapWith(Number),
      answeredSec: sql<number>`sum(${statsHourly.answeredSec})`.mapWith(Number),
      peakConcurrent: sql<number>`max(${statsHourly.peakConcurrent})`.mapWith(Number),
      failedAuths: sql<number>`sum(${statsHourly.failedAuths})`.mapWith(Number),
      securityEvents: sql<number>`sum(${statsHourly.securityEvents})`.mapWith(Number),
      oneWayCalls: sql<number>`sum(${statsHourly.oneWayCalls})`.mapWith(Number),
      registrations: sql<number>`sum(${statsHourly.registrations})`.mapWith(Number),
    })
    .from(statsHourly)
    .where(
      and(
        eq(statsHourly.scope, p.scope),
        eq(statsHourly.scopeId, p.scopeId),
        gte(statsHourly.hour, p.from),
        lt(statsHourly.hour, p.to),
      ),
    )
    .groupBy(bucket)
    .orderBy(bucket);
  return rows.map((r) => ({
    ...r,
    asr: r.calls === 0 ? null : r.answered / r.calls,
    acdSec: r.answered === 0 ? null : r.answeredSec / r.answered,
  }));
}

export async function recentCallRecords(db: Database, p: { siteId: string; limit: number; offset: number }) {
  const rows = await db
    .select({
      id: callRecords.id,
      agentId: callRecords.agentId,
      callId: callRecords.callId,
      from: callRecords.fromUri,
      to: callRecords.toUri,
      direction: callRecords.direction,
      startedAt: callRecords.startedAt,
      answeredAt: callRecords.answeredAt,
      endedAt: callRecords.endedAt,
      status: callRecords.status,
      disposition: callRecords.disposition,
      endReason: callRecords.endReason,
      durationSec: callRecords.durationSec,
      codes: callRecords.codes,
      packetsIn: callRecords.packetsIn,
      packetsOut: callRecords.packetsOut,
      bytesIn: callRecords.bytesIn,
      bytesOut: callRecords.bytesOut,
      oneWay: callRecords.oneWay,
      mos: callRecords.mos,
    })
    .from(callRecords)
    .where(eq(callRecords.siteId, p.siteId))
    .orderBy(desc(callRecords.endedAt), desc(callRecords.id))
    .limit(p.limit)
    .offset(p.offset);
  const [total] = await db
    .select({ n: sql<number>`count(*)`.mapWith(Number) })
    .from(callRecords)
    .where(eq(callRecords.siteId, p.siteId));
  return { total: total?.n ?? 0, rows };
}

export async function recentSecurityEvents(
  db: Database,
  p: { scope: StatsScope; scopeId: string; limit: number; offset: number },
) {
  const where =
    p.scope === 'site' ? eq(securityEvents.siteId, p.scopeId) : eq(securityEvents.organizationId, p.scopeId);
  return db
    .select({
      id: securityEvents.id,
      siteId: securityEvents.siteId,
      agentId: securityEvents.agentId,
      at: securityEvents.at,
      event: securityEvents.event,
      source: securityEvents.source,
      detail: securityEvents.detail,
    })
    .from(securityEvents)
    .where(where)
    .orderBy(desc(securityEvents.at), desc(securityEvents.id))
    .limit(p.limit)
    .offset(p.offset);
}
