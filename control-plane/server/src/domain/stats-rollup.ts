import type { TelemetryRecord } from '@sipwall/shared';

/**
 * Hourly statistics from telemetry records (pure). What counts where:
 * - calls, answered, answeredSec (→ ACD), oneWayCalls: call records, in the UTC hour the call started;
 *   ASR = answered / calls. A call is answered when its record says so (`disposition` or an answer time).
 * - failedAuths: security events `auth-failure`; securityEvents: all of them, in the hour they happened.
 * - registrations: registration records `added` or `refreshed` (successful REGISTERs), by hour.
 * - peakConcurrent is not a sum: it is recomputed from the stored calls' [start, end) intervals
 *   overlapping the hour (calls from INVITE to end, ringing included), per site and per organization
 *   (an organization's peak is not the sum of its sites' peaks). It counts calls whose records
 *   arrived; a call still running is counted once it ended and its record was stored.
 */
export interface HourlyCounts {
  calls: number;
  answered: number;
  answeredSec: number;
  oneWayCalls: number;
  failedAuths: number;
  securityEvents: number;
  registrations: number;
}

export type StatsScope = 'site' | 'organization';

export interface RollupRow extends HourlyCounts {
  scope: StatsScope;
  scopeId: string;
  organizationId: string;
  hour: Date;
}

/** Where a record belongs. */
export interface RecordTenant {
  siteId: string;
  organizationId: string;
}

const HOUR_MS = 3_600_000;
/** A call spanning more hours than this has its peak recomputed for its last ones only. */
export const MAX_PEAK_HOURS_PER_CALL = 48;

export function hourOf(at: string | Date): Date {
  const ms = typeof at === 'string' ? Date.parse(at) : at.getTime();
  return new Date(Math.floor(ms / HOUR_MS) * HOUR_MS);
}

const zero = (): HourlyCounts => ({
  calls: 0,
  answered: 0,
  answeredSec: 0,
  oneWayCalls: 0,
  failedAuths: 0,
  securityEvents: 0,
  registrations: 0,
});

/** What one record adds to its hour, and the hour (null: the record does not count). */
export function recordContribution(r: TelemetryRecord): { hour: Date; counts: HourlyCounts } | null {
  const c = zero();
  switch (r.kind) {
    case 'call': {
      c.calls = 1;
      const answered = r.disposition === undefined ? r.answeredAt !== null : r.disposition === 'answered';
      if (answered) {
        c.answered = 1;
        c.answeredSec = r.durationSec ?? 0;
      }
      if (r.media?.oneWay === true) c.oneWayCalls = 1;
      return { hour: hourOf(r.startedAt), counts: c };
    }
    case 'security':
      c.securityEvents = 1;
      if (r.event === 'auth-failure') c.failedAuths = 1;
      return { hour: hourOf(r.at), counts: c };
    case 'registration':
      if (r.action !== 'added' && r.action !== 'refreshed') return null;
      c.registrations = 1;
      return { hour: hourOf(r.at), counts: c };
    default:
      return null;
  }
}

/** Sums newly stored records into rows per (scope, id, hour), in a stable order (lock order). */
export function rollup(records: readonly { record: TelemetryRecord; tenant: RecordTenant }[]): RollupRow[] {
  const rows = new Map<string, RollupRow>();
  for (const { record, tenant } of records) {
    const add = recordContribution(record);
    if (add === null) continue;
    for (const [scope, scopeId] of [
      ['site', tenant.siteId],
      ['organization', tenant.organizationId],
    ] as const) {
      const key = `${scope}|${scopeId}|${add.hour.getTime()}`;
      let row = rows.get(key);
      if (row === undefined) {
        row = { scope, scopeId, organizationId: tenant.organizationId, hour: add.hour, ...zero() };
        rows.set(key, row);
      }
      for (const k of Object.keys(add.counts) as (keyof HourlyCounts)[]) row[k] += add.counts[k];
    }
  }
  return [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
}

/** A (scope, hour) whose peak concurrency must be recomputed. */
export interface PeakKey {
  scope: StatsScope;
  scopeId: string;
  organizationId: string;
  hour: Date;
}

export const peakKeyString = (k: PeakKey) => `${k.scope}|${k.scopeId}|${k.hour.toISOString()}`;

/** The hours a call's [start, end) interval overlaps, for site and organization. */
export function peakKeys(call: { startedAt: string; endedAt: string }, tenant: RecordTenant): PeakKey[] {
  const first = hourOf(call.startedAt).getTime();
  const endMs = Math.max(Date.parse(call.endedAt), Date.parse(call.startedAt) + 1);
  const last = hourOf(new Date(endMs - 1)).getTime();
  const from = Math.max(first, last - (MAX_PEAK_HOURS_PER_CALL - 1) * HOUR_MS);
  const keys: PeakKey[] = [];
  for (let h = from; h <= last; h += HOUR_MS) {
    const hour = new Date(h);
    keys.push({ scope: 'site', scopeId: tenant.siteId, organizationId: tenant.organizationId, hour });
    keys.push({
      scope: 'organization',
      scopeId: tenant.organizationId,
      organizationId: tenant.organizationId,
      hour,
    });
  }
  return keys;
}

export const HOUR = HOUR_MS;
