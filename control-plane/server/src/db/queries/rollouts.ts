import { and, desc, eq } from 'drizzle-orm';
import type { Database } from '../client.js';
import { rollouts } from '../schema/index.js';

export type RolloutRow = typeof rollouts.$inferSelect;

export async function insertRollout(
  db: Database,
  params: Omit<typeof rollouts.$inferInsert, 'id' | 'createdAt' | 'updatedAt'>,
): Promise<RolloutRow> {
  const [row] = await db.insert(rollouts).values(params).returning();
  return row!;
}

export async function getRollout(db: Database, params: { rolloutId: string }): Promise<RolloutRow | null> {
  const [row] = await db.select().from(rollouts).where(eq(rollouts.id, params.rolloutId));
  return row ?? null;
}

export async function listRollouts(db: Database, params: { organizationId: string; limit: number }) {
  return db
    .select()
    .from(rollouts)
    .where(eq(rollouts.organizationId, params.organizationId))
    .orderBy(desc(rollouts.createdAt))
    .limit(params.limit);
}

/** Rollouts waiting on their canaries (all organizations, or one). */
export async function canaryRollouts(db: Database, params: { organizationId?: string } = {}) {
  const where =
    params.organizationId === undefined
      ? eq(rollouts.state, 'canary')
      : and(eq(rollouts.state, 'canary'), eq(rollouts.organizationId, params.organizationId));
  return db.select().from(rollouts).where(where);
}

/**
 * Moves a rollout out of `canary`, once: only the caller that flips the state wins, so a
 * `reported` message and the periodic check cannot both push the rest.
 */
export async function finishCanary(
  db: Database,
  params: { rolloutId: string; state: 'completed' | 'halted'; reason: string | null; at: Date },
): Promise<boolean> {
  const rows = await db
    .update(rollouts)
    .set({ state: params.state, reason: params.reason, updatedAt: params.at })
    .where(and(eq(rollouts.id, params.rolloutId), eq(rollouts.state, 'canary')))
    .returning({ id: rollouts.id });
  return rows.length > 0;
}
