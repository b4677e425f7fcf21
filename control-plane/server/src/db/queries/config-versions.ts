import { desc, eq, inArray } from 'drizzle-orm';
import type { Database } from '../client.js';
import { configVersions } from '../schema/index.js';

/** Version list of an agent, newest first (payload included: versions are small and diffable). */
export async function listConfigVersions(db: Database, params: { agentId: string }) {
  return db
    .select()
    .from(configVersions)
    .where(eq(configVersions.agentId, params.agentId))
    .orderBy(desc(configVersions.version));
}

export async function latestConfigVersion(db: Database, params: { agentId: string }) {
  const [row] = await db
    .select()
    .from(configVersions)
    .where(eq(configVersions.agentId, params.agentId))
    .orderBy(desc(configVersions.version))
    .limit(1);
  return row ?? null;
}

/** Each agent's latest version (number and payload), for many agents in one query. */
export async function latestConfigVersions(
  db: Database,
  params: { agentIds: readonly string[] },
): Promise<Map<string, { version: number; payload: unknown }>> {
  const out = new Map<string, { version: number; payload: unknown }>();
  if (params.agentIds.length === 0) return out;
  const rows = await db
    .selectDistinctOn([configVersions.agentId], {
      agentId: configVersions.agentId,
      version: configVersions.version,
      payload: configVersions.payload,
    })
    .from(configVersions)
    .where(inArray(configVersions.agentId, [...params.agentIds]))
    .orderBy(configVersions.agentId, desc(configVersions.version));
  for (const r of rows) out.set(r.agentId, { version: r.version, payload: r.payload });
  return out;
}

/**
 * Inserts many versions at once (each the agent's latest + 1, decided by the caller under the
 * site locks). The primary key (agent, version) makes a concurrent writer fail, not overwrite.
 */
export async function insertConfigVersions(
  db: Database,
  rows: readonly { agentId: string; version: number; payload: unknown; createdBy: string | null }[],
): Promise<void> {
  // A few hundred rows per statement keeps the parameter count well below Postgres' 65,535.
  for (let i = 0; i < rows.length; i += 500) {
    await db.insert(configVersions).values(rows.slice(i, i + 500).map((r) => ({ ...r })));
  }
}
