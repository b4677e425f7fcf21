import type { DigestAlgorithm, ManagedConfig, PoliciesPatch } from '@sipwall/shared';
import { and, asc, eq, inArray } from 'drizzle-orm';
import type { Database } from '../client.js';
import { agents, organizationConfig, siteConfig, sipUsers, sites } from '../schema/index.js';

/** A stored SIP user (HA1s included: for compilation only, never returned by the API). */
export type SipUserRow = typeof sipUsers.$inferSelect;

/** What the API shows of a SIP user: never the HA1s. */
export interface SipUserView {
  id: string;
  siteId: string;
  username: string;
  domain: string;
  displayName: string;
  enabled: boolean;
  algorithms: DigestAlgorithm[] | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Managed config and policies patch at one level (organization or site). */
export interface ConfigLayer {
  config: ManagedConfig;
  policies: PoliciesPatch;
}

export const EMPTY_LAYER: ConfigLayer = { config: {}, policies: {} };

export function toSipUserView(row: SipUserRow): SipUserView {
  const { ha1Md5: _m, ha1Sha256: _s, ...view } = row;
  return view;
}

export async function listSipUsers(db: Database, params: { siteId: string }): Promise<SipUserRow[]> {
  return db
    .select()
    .from(sipUsers)
    .where(eq(sipUsers.siteId, params.siteId))
    .orderBy(asc(sipUsers.domain), asc(sipUsers.username));
}

/** A SIP user with its site's organization (for the tenant check), or null. */
export async function getSipUser(db: Database, params: { userId: string }) {
  const [row] = await db
    .select({ user: sipUsers, organizationId: sites.organizationId })
    .from(sipUsers)
    .innerJoin(sites, eq(sites.id, sipUsers.siteId))
    .where(eq(sipUsers.id, params.userId));
  return row ?? null;
}

export async function insertSipUser(
  db: Database,
  params: Omit<typeof sipUsers.$inferInsert, 'id' | 'createdAt' | 'updatedAt'>,
): Promise<SipUserRow> {
  const [row] = await db.insert(sipUsers).values(params).returning();
  return row!;
}

export async function updateSipUser(
  db: Database,
  params: {
    userId: string;
    set: Partial<Pick<SipUserRow, 'displayName' | 'enabled' | 'algorithms' | 'ha1Md5' | 'ha1Sha256'>>;
    at: Date;
  },
): Promise<SipUserRow | null> {
  const [row] = await db
    .update(sipUsers)
    .set({ ...params.set, updatedAt: params.at })
    .where(eq(sipUsers.id, params.userId))
    .returning();
  return row ?? null;
}

export async function deleteSipUser(db: Database, params: { userId: string }): Promise<void> {
  await db.delete(sipUsers).where(eq(sipUsers.id, params.userId));
}

export async function getOrganizationLayer(
  db: Database,
  params: { organizationId: string },
): Promise<ConfigLayer> {
  const [row] = await db
    .select({ config: organizationConfig.config, policies: organizationConfig.policies })
    .from(organizationConfig)
    .where(eq(organizationConfig.organizationId, params.organizationId));
  return row ?? EMPTY_LAYER;
}

export async function setOrganizationLayer(
  db: Database,
  params: { organizationId: string; layer: ConfigLayer; at: Date },
): Promise<void> {
  const values = { ...params.layer, updatedAt: params.at };
  await db
    .insert(organizationConfig)
    .values({ organizationId: params.organizationId, ...values })
    .onConflictDoUpdate({ target: organizationConfig.organizationId, set: values });
}

export async function getSiteLayer(db: Database, params: { siteId: string }): Promise<ConfigLayer> {
  const [row] = await db
    .select({ config: siteConfig.config, policies: siteConfig.policies })
    .from(siteConfig)
    .where(eq(siteConfig.siteId, params.siteId));
  return row ?? EMPTY_LAYER;
}

export async function setSiteLayer(
  db: Database,
  params: { siteId: string; layer: ConfigLayer; at: Date },
): Promise<void> {
  const values = { ...params.layer, updatedAt: params.at };
  await db
    .insert(siteConfig)
    .values({ siteId: params.siteId, ...values })
    .onConflictDoUpdate({ target: siteConfig.siteId, set: values });
}

/** Ids of the agents of these sites. */
export async function agentIdsOfSites(db: Database, params: { siteIds: string[] }): Promise<string[]> {
  if (params.siteIds.length === 0) return [];
  const rows = await db
    .select({ id: agents.id })
    .from(agents)
    .where(inArray(agents.siteId, params.siteIds))
    .orderBy(asc(agents.id));
  return rows.map((r) => r.id);
}

/** Site ids of an organization (all, or the given ones that belong to it). */
export async function siteIdsOf(
  db: Database,
  params: { organizationId: string; only?: string[] },
): Promise<string[]> {
  const where =
    params.only === undefined
      ? eq(sites.organizationId, params.organizationId)
      : and(eq(sites.organizationId, params.organizationId), inArray(sites.id, params.only));
  const rows = await db.select({ id: sites.id }).from(sites).where(where).orderBy(asc(sites.name));
  return rows.map((r) => r.id);
}
