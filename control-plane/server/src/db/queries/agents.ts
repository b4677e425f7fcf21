import { and, asc, eq, gt, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Database } from '../client.js';
import { agents, configVersions, type ReportedError, sites } from '../schema/index.js';

/** What the API shows of an agent (never hashes). */
export interface AgentView {
  id: string;
  name: string;
  siteId: string;
  siteName: string;
  organizationId: string;
  online: boolean;
  lastSeenAt: Date | null;
  appliedVersion: number | null;
  desiredVersion: number | null;
  reportedStatus: string | null;
  rejectedVersion: number | null;
  errors: ReportedError[];
  enrolled: boolean;
  agentVersion: string | null;
  createdAt: Date;
}

const desiredVersion = sql<
  number | null
>`(select max(${configVersions.version}) from ${configVersions} where ${configVersions.agentId} = ${agents.id})`.mapWith(
  (v) => (v === null ? null : Number(v)),
);

const agentView = {
  id: agents.id,
  name: agents.name,
  siteId: agents.siteId,
  siteName: sites.name,
  organizationId: sites.organizationId,
  online: agents.online,
  lastSeenAt: agents.lastSeenAt,
  appliedVersion: agents.appliedVersion,
  desiredVersion,
  reportedStatus: agents.reportedStatus,
  rejectedVersion: agents.reportedRejectedVersion,
  errors: agents.reportedErrors,
  enrolled: sql<boolean>`${agents.enrollmentUsedAt} is not null`.mapWith(Boolean),
  agentVersion: agents.agentVersion,
  createdAt: agents.createdAt,
};

export async function listAgents(db: Database, params: { organizationId: string }): Promise<AgentView[]> {
  return db
    .select(agentView)
    .from(agents)
    .innerJoin(sites, eq(sites.id, agents.siteId))
    .where(eq(sites.organizationId, params.organizationId))
    .orderBy(asc(sites.name), asc(agents.name));
}

export async function getAgent(db: Database, params: { agentId: string }): Promise<AgentView | null> {
  const [row] = await db
    .select(agentView)
    .from(agents)
    .innerJoin(sites, eq(sites.id, agents.siteId))
    .where(eq(agents.id, params.agentId));
  return row ?? null;
}

export async function createAgent(
  db: Database,
  params: {
    id: string;
    siteId: string;
    name: string;
    enrollmentTokenHash: string;
    enrollmentExpiresAt: Date;
  },
): Promise<void> {
  await db.insert(agents).values(params);
}

/**
 * Marks an enrollment token used, atomically: only one caller can flip `used_at` from null,
 * so two concurrent enrollments with the same token cannot both win. Returns the agent id or null.
 */
export async function consumeEnrollmentToken(
  db: Database,
  params: { tokenHash: string; now: Date; agentVersion: string; hostname: string | null },
): Promise<string | null> {
  const [row] = await db
    .update(agents)
    .set({ enrollmentUsedAt: params.now, agentVersion: params.agentVersion, hostname: params.hostname })
    .where(
      and(
        eq(agents.enrollmentTokenHash, params.tokenHash),
        isNull(agents.enrollmentUsedAt),
        gt(agents.enrollmentExpiresAt, params.now),
      ),
    )
    .returning({ id: agents.id });
  return row?.id ?? null;
}

/** Undoes `consumeEnrollmentToken` when provisioning failed, so the agent can retry with the same token. */
export async function releaseEnrollmentToken(db: Database, params: { agentId: string }): Promise<void> {
  await db
    .update(agents)
    .set({ enrollmentUsedAt: null, mqttPasswordHash: null })
    .where(eq(agents.id, params.agentId));
}

/** Token state, to explain why `consumeEnrollmentToken` refused. */
export async function findEnrollmentToken(db: Database, params: { tokenHash: string }) {
  const [row] = await db
    .select({ id: agents.id, usedAt: agents.enrollmentUsedAt, expiresAt: agents.enrollmentExpiresAt })
    .from(agents)
    .where(eq(agents.enrollmentTokenHash, params.tokenHash));
  return row ?? null;
}

export async function setMqttPasswordHash(db: Database, params: { agentId: string; hash: string }) {
  await db.update(agents).set({ mqttPasswordHash: params.hash }).where(eq(agents.id, params.agentId));
}

export async function getMqttPasswordHash(db: Database, params: { agentId: string }): Promise<string | null> {
  const [row] = await db
    .select({ hash: agents.mqttPasswordHash })
    .from(agents)
    .where(eq(agents.id, params.agentId));
  return row?.hash ?? null;
}

/** Applies an agent's `status` message. Returns false when the agent is unknown. */
export async function setAgentOnline(
  db: Database,
  params: { agentId: string; online: boolean; at: Date },
): Promise<boolean> {
  const rows = await db
    .update(agents)
    // An agent without credentials (revoked, token re-issued) cannot be online: a retained
    // `online` status the broker still holds from its last session must not say it is.
    .set({ online: params.online ? isNotNull(agents.mqttPasswordHash) : false, lastSeenAt: params.at })
    .where(eq(agents.id, params.agentId))
    .returning({ id: agents.id });
  return rows.length > 0;
}

/** One agent's `reported` state as `setAgentsReported` stores it. */
export interface ReportedRow {
  agentId: string;
  appliedVersion: number | null;
  status: string;
  rejectedVersion: number | null;
  errors: ReportedError[];
  agentVersion: string;
  at: Date;
}

/**
 * Stores agents' `reported` states in one statement (one parameter per column, `unnest`).
 * Returns the ids that exist. At most one row per agent.
 */
export async function setAgentsReported(db: Database, rows: readonly ReportedRow[]): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const col = <T>(f: (r: ReportedRow) => T) => sql.param(rows.map(f));
  const result = await db.execute(sql`
    update ${agents} as a set
      applied_version = v.applied_version,
      reported_status = v.status,
      reported_rejected_version = v.rejected_version,
      reported_errors = v.errors::jsonb,
      agent_version = v.agent_version,
      reported_at = v.at,
      last_seen_at = v.at
    from unnest(
      ${col((r) => r.agentId)}::text[],
      ${col((r) => r.appliedVersion)}::int[],
      ${col((r) => r.status)}::text[],
      ${col((r) => r.rejectedVersion)}::int[],
      ${col((r) => JSON.stringify(r.errors))}::text[],
      ${col((r) => r.agentVersion)}::text[],
      ${col((r) => r.at.toISOString())}::timestamptz[]
    ) as v(id, applied_version, status, rejected_version, errors, agent_version, at)
    where a.id = v.id
    returning a.id`);
  return new Set((result as unknown as { rows: { id: string }[] }).rows.map((r) => r.id));
}

/** Touches lastSeenAt (e.g. on an events batch). */
export async function touchAgent(db: Database, params: { agentId: string; at: Date }): Promise<void> {
  await db.update(agents).set({ lastSeenAt: params.at }).where(eq(agents.id, params.agentId));
}

/** Marks several agents seen at `at` in one statement (ids sorted, so concurrent writers lock in one order). */
export async function touchAgents(
  db: Database,
  params: { agentIds: readonly string[]; at: Date },
): Promise<void> {
  if (params.agentIds.length === 0) return;
  const ids = [...new Set(params.agentIds)].sort();
  await db.update(agents).set({ lastSeenAt: params.at }).where(inArray(agents.id, ids));
}

/** Agent ids of a site (to revoke them before the site goes). */
export async function agentIdsOfSite(db: Database, params: { siteId: string }): Promise<string[]> {
  const rows = await db.select({ id: agents.id }).from(agents).where(eq(agents.siteId, params.siteId));
  return rows.map((r) => r.id);
}

export async function renameAgent(db: Database, params: { agentId: string; name: string }): Promise<void> {
  await db.update(agents).set({ name: params.name }).where(eq(agents.id, params.agentId));
}

/** Deletes an agent and its config versions (cascade). */
export async function deleteAgent(db: Database, params: { agentId: string }): Promise<void> {
  await db.delete(agents).where(eq(agents.id, params.agentId));
}

/** Replaces the enrollment token (the old one stops working at once) and makes it usable again. */
export async function setEnrollmentToken(
  db: Database,
  params: { agentId: string; tokenHash: string; expiresAt: Date },
): Promise<void> {
  await db
    .update(agents)
    .set({
      enrollmentTokenHash: params.tokenHash,
      enrollmentExpiresAt: params.expiresAt,
      enrollmentUsedAt: null,
    })
    .where(eq(agents.id, params.agentId));
}

/** Voids the agent's MQTT password (the embedded broker reads it at every connect). */
/**
 * Voids the agent's broker password and marks it offline: Mosquitto's dynamic security drops the
 * session of a deleted client without its will, so no `offline` status would ever arrive.
 */
export async function clearMqttPassword(db: Database, params: { agentId: string }): Promise<void> {
  await db.update(agents).set({ mqttPasswordHash: null, online: false }).where(eq(agents.id, params.agentId));
}
