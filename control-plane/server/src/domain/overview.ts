import { and, eq, gte, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { listAgents } from '../db/queries/agents.js';
import { listSites } from '../db/queries/sites.js';
import { callRecords, registrationEvents, securityEvents } from '../db/schema/index.js';
import type { RpcClient } from '../ingest/rpc-client.js';
import { requireAccess } from './access.js';
import { configState } from './config-state.js';
import type { Clock } from './ports.js';

/** At most this many online agents are asked for their active-call count per overview (one RPC each). */
export const OVERVIEW_LIVE_AGENTS_MAX = 50;
/** Registrations are rebuilt from the events of this window (longer than any sane REGISTER expiry). */
const REGISTRATION_WINDOW_MS = 24 * 3600_000;

/** One site's health at a glance (the organization overview's row). */
export interface SiteHealth {
  siteId: string;
  name: string;
  agents: { total: number; online: number; offline: number; notEnrolled: number };
  config: { applied: number; pending: number; failed: number; unmanaged: number };
  /** Bindings alive now, from the registration events the agents reported. */
  registrations: number;
  /** Active calls now, asked of the online agents; null when not asked (too many agents, or none answered). */
  activeCalls: number | null;
  /** Calls that started today (UTC), their answered share (0–1, null without calls), one-way calls. */
  callsToday: number;
  asrToday: number | null;
  oneWayToday: number;
  /** Security events (failed authentications, blocks …) in the last 24 h. */
  securityEvents24h: number;
}

function startOfUtcDay(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

/**
 * The organization's sites with health, from a few bulk queries over what the control plane
 * stores (agents, registration events, call records, security events), plus a bounded fan-out
 * of `calls` RPCs (limit 1: only the total) to the online agents for the active-call counts.
 */
export async function siteHealthFor(
  db: Database,
  live: RpcClient | null,
  clock: Clock,
  params: { operatorId: string; organizationId: string },
): Promise<SiteHealth[]> {
  await requireAccess(db, { ...params, access: 'read' });
  const { organizationId } = params;
  const now = clock();
  const dayStart = startOfUtcDay(now);
  const [siteRows, agentRows, callRows, securityRows, registrationRows] = await Promise.all([
    listSites(db, { organizationId }),
    listAgents(db, { organizationId }),
    db
      .select({
        siteId: callRecords.siteId,
        calls: sql<number>`count(*)`.mapWith(Number),
        answered: sql<number>`count(${callRecords.answeredAt})`.mapWith(Number),
        oneWay: sql<number>`count(*) filter (where ${callRecords.oneWay})`.mapWith(Number),
      })
      .from(callRecords)
      .where(and(eq(callRecords.organizationId, organizationId), gte(callRecords.startedAt, dayStart)))
      .groupBy(callRecords.siteId),
    db
      .select({ siteId: securityEvents.siteId, count: sql<number>`count(*)`.mapWith(Number) })
      .from(securityEvents)
      .where(
        and(
          eq(securityEvents.organizationId, organizationId),
          gte(securityEvents.at, new Date(now.getTime() - 24 * 3600_000)),
        ),
      )
      .groupBy(securityEvents.siteId),
    registrationCounts(db, organizationId, now),
  ]);

  const online = agentRows.filter((a) => a.online);
  const activeByAgent = new Map<string, number>();
  if (live && online.length > 0 && online.length <= OVERVIEW_LIVE_AGENTS_MAX) {
    const answers = await Promise.allSettled(
      online.map(
        async (a) => [a.id, (await live.call(a.id, 'calls', { limit: 1, offset: 0 })).total] as const,
      ),
    );
    for (const answer of answers) if (answer.status === 'fulfilled') activeByAgent.set(...answer.value);
  }

  const calls = new Map(callRows.map((r) => [r.siteId, r]));
  const security = new Map(securityRows.map((r) => [r.siteId, r.count]));
  const registrations = new Map(registrationRows.map((r) => [r.siteId, r.count]));
  return siteRows.map((site) => {
    const agents = agentRows.filter((a) => a.siteId === site.id);
    const health: SiteHealth = {
      siteId: site.id,
      name: site.name,
      agents: { total: agents.length, online: 0, offline: 0, notEnrolled: 0 },
      config: { applied: 0, pending: 0, failed: 0, unmanaged: 0 },
      registrations: registrations.get(site.id) ?? 0,
      activeCalls: null,
      callsToday: calls.get(site.id)?.calls ?? 0,
      asrToday: null,
      oneWayToday: calls.get(site.id)?.oneWay ?? 0,
      securityEvents24h: security.get(site.id) ?? 0,
    };
    for (const a of agents) {
      if (!a.enrolled) health.agents.notEnrolled++;
      else if (a.online) health.agents.online++;
      else health.agents.offline++;
      const state = configState(a);
      if (state === 'applied') health.config.applied++;
      else if (state === 'pending') health.config.pending++;
      else if (state === 'unmanaged') health.config.unmanaged++;
      else health.config.failed++;
      const active = activeByAgent.get(a.id);
      if (active !== undefined) health.activeCalls = (health.activeCalls ?? 0) + active;
    }
    const siteCalls = calls.get(site.id);
    if (siteCalls && siteCalls.calls > 0) health.asrToday = siteCalls.answered / siteCalls.calls;
    return health;
  });
}

/**
 * Live bindings per site: the newest event of each (agent, AOR, contact) in the window, counted
 * when it added or refreshed the binding and has not expired yet.
 */
async function registrationCounts(
  db: Database,
  organizationId: string,
  now: Date,
): Promise<{ siteId: string; count: number }[]> {
  const since = new Date(now.getTime() - REGISTRATION_WINDOW_MS);
  const latest = db
    .selectDistinctOn([registrationEvents.agentId, registrationEvents.aor, registrationEvents.contact], {
      siteId: registrationEvents.siteId,
      action: registrationEvents.action,
      at: registrationEvents.at,
      expiresSec: registrationEvents.expiresSec,
    })
    .from(registrationEvents)
    .where(and(eq(registrationEvents.organizationId, organizationId), gte(registrationEvents.at, since)))
    .orderBy(
      registrationEvents.agentId,
      registrationEvents.aor,
      registrationEvents.contact,
      sql`${registrationEvents.at} desc`,
    )
    .as('latest');
  return db
    .select({ siteId: latest.siteId, count: sql<number>`count(*)`.mapWith(Number) })
    .from(latest)
    .where(
      sql`${latest.action} in ('added', 'refreshed') and ${latest.at} + make_interval(secs => ${latest.expiresSec}) > ${now.toISOString()}::timestamptz`,
    )
    .groupBy(latest.siteId);
}
