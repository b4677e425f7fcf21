import { asc, eq } from 'drizzle-orm';
import type { Database } from '../client.js';
import { sites } from '../schema/index.js';

export async function listSites(db: Database, params: { organizationId: string }) {
  return db
    .select()
    .from(sites)
    .where(eq(sites.organizationId, params.organizationId))
    .orderBy(asc(sites.name));
}

export async function createSite(db: Database, params: { organizationId: string; name: string }) {
  const [row] = await db.insert(sites).values(params).returning();
  return row!;
}

export async function getSite(db: Database, params: { siteId: string }) {
  const [row] = await db.select().from(sites).where(eq(sites.id, params.siteId));
  return row ?? null;
}
