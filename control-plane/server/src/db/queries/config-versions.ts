import { desc, eq, max } from 'drizzle-orm';
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

/**
 * Inserts the next version (max + 1). The primary key (agent, version) makes a concurrent
 * writer fail instead of overwriting; the caller may retry.
 */
export async function insertNextConfigVersion(
  db: Database,
  params: { agentId: string; createdBy: string | null; build: (version: number) => unknown },
) {
  const [cur] = await db
    .select({ v: max(configVersions.version) })
    .from(configVersions)
    .where(eq(configVersions.agentId, params.agentId));
  const version = (cur?.v ?? 0) + 1;
  const [row] = await db
    .insert(configVersions)
    .values({
      agentId: params.agentId,
      version,
      payload: params.build(version),
      createdBy: params.createdBy,
    })
    .returning();
  return row!;
}
