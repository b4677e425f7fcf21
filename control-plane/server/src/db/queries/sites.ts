import { asc, eq, inArray } from 'drizzle-orm';
import type { Database } from '../client.js';
import { sites } from '../schema/index.js';

export async function listSites(db: Database, params: { organizationId: string }) {
  return db
    .select()
    .from(sites)
    .where(eq(sites.organizationId, params.organizationId))
    .orderBy(asc(sites.name));
}

/**
 * The rows (id, organization) of `siteIds`, in id order; with `lock`, locked `FOR UPDATE` in that
 * order (inside a transaction: two lockers of overlapping sites wait for each other, never deadlock).
 */
export async function siteRowsInIdOrder(
  db: Database,
  params: { siteIds: readonly string[]; lock: boolean },
): Promise<{ id: string; organizationId: string }[]> {
  const rows = db
    .select({ id: sites.id, organizationId: sites.organizationId })
    .from(sites)
    .where(inArray(sites.id, [...params.siteIds]))
    .orderBy(asc(sites.id));
  return params.lock ? rows.for('update') : rows;
}

export async function createSite(db: Database, params: { organizationId: string; name: string }) {
  const [row] = await db.insert(sites).values(params).returning();
  return row!;
}

export async function getSite(db: Database, params: { siteId: string }) {
  const [row] = await db.select().from(sites).where(eq(sites.id, params.siteId));
  return row ?? null;
}

export async function renameSite(db: Database, params: { siteId: string; name: string }) {
  const [row] = await db
    .update(sites)
    .set({ name: params.name })
    .where(eq(sites.id, params.siteId))
    .returning();
  return row ?? null;
}

/** Deletes a site; its agents, SIP users, overrides and versions go with it (foreign keys cascade). */
export async function deleteSite(db: Database, params: { siteId: string }): Promise<void> {
  await db.delete(sites).where(eq(sites.id, params.siteId));
}
