import { and, eq, gte, lt, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { sites } from '../db/schema/sites.js';
import { statsHourly } from '../db/schema/telemetry.js';

/** What "worst" means: lowest answer-seizure ratio, most failed authentications, most one-way calls. */
export const WORST_SITE_ORDERS = ['asr', 'failedAuths', 'oneWay'] as const;
export type WorstSiteOrder = (typeof WORST_SITE_ORDERS)[number];

/** One site's totals over a range, from the hourly roll-ups. */
export interface SiteTotals {
  readonly siteId: string;
  readonly name: string;
  readonly calls: number;
  readonly answered: number;
  /** `answered / calls`, null without calls. */
  readonly asr: number | null;
  readonly failedAuths: number;
  readonly oneWayCalls: number;
  readonly peakConcurrent: number;
}

/**
 * Orders site totals worst first (pure). `asr`: only sites with calls, lowest ratio first, the
 * busier site first on a tie; `failedAuths` / `oneWay`: only sites with any, most first. Ties end
 * by name so the order is stable.
 */
export function rankWorst(rows: readonly SiteTotals[], by: WorstSiteOrder, limit: number): SiteTotals[] {
  const byName = (a: SiteTotals, b: SiteTotals) => a.name.localeCompare(b.name);
  const kept = [...rows];
  if (by === 'asr')
    return kept
      .filter((r) => r.asr !== null)
      .sort((a, b) => (a.asr as number) - (b.asr as number) || b.calls - a.calls || byName(a, b))
      .slice(0, limit);
  const key = by === 'failedAuths' ? 'failedAuths' : 'oneWayCalls';
  return kept
    .filter((r) => r[key] > 0)
    .sort((a, b) => b[key] - a[key] || byName(a, b))
    .slice(0, limit);
}

/** Totals per site of one organization over `[from, to)` (sites without roll-ups are left out). */
export async function siteTotals(
  db: Database,
  p: { organizationId: string; from: Date; to: Date },
): Promise<SiteTotals[]> {
  const rows = await db
    .select({
      siteId: sites.id,
      name: sites.name,
      calls: sql<number>`sum(${statsHourly.calls})`.mapWith(Number),
      answered: sql<number>`sum(${statsHourly.answered})`.mapWith(Number),
      failedAuths: sql<number>`sum(${statsHourly.failedAuths})`.mapWith(Number),
      oneWayCalls: sql<number>`sum(${statsHourly.oneWayCalls})`.mapWith(Number),
      peakConcurrent: sql<number>`max(${statsHourly.peakConcurrent})`.mapWith(Number),
    })
    .from(statsHourly)
    // The join also keeps the tenant: a site row must belong to the organization asked about.
    .innerJoin(sites, and(eq(sites.id, statsHourly.scopeId), eq(sites.organizationId, p.organizationId)))
    .where(
      and(
        eq(statsHourly.scope, 'site'),
        eq(statsHourly.organizationId, p.organizationId),
        gte(statsHourly.hour, p.from),
        lt(statsHourly.hour, p.to),
      ),
    )
    .groupBy(sites.id, sites.name);
  return rows.map((r) => ({ ...r, asr: r.calls === 0 ? null : r.answered / r.calls }));
}
