import type { DigestAlgorithm, ManagedConfig, PoliciesPatch } from '@sipwall/shared';
import { and, asc, eq, inArray } from 'drizzle-orm';
import type { Database } from '../client.js';
import { agents, organizationConfig, siteConfig, sipUsers, sites } from '../schema/index.js';
import { siteRowsInIdOrder } from './sites.js';

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

/** What compiling many sites needs, read in a few queries (not three per site). */
export interface SiteInputs {
  organizationId: string;
  site: ConfigLayer;
  users: SipUserRow[];
}

/**
 * Each site's organization, overrides and SIP users (users sorted by domain, username), for the
 * given sites; with `lock`, the site rows are locked `FOR UPDATE` in id order (inside a transaction).
 */
export async function loadSiteInputs(
  db: Database,
  params: { siteIds: readonly string[]; lock?: boolean },
): Promise<Map<string, SiteInputs>> {
  const out = new Map<string, SiteInputs>();
  if (params.siteIds.length === 0) return out;
  const ids = [...params.siteIds];
  const found = await siteRowsInIdOrder(db, { siteIds: ids, lock: params.lock === true });
  for (const r of found) out.set(r.id, { organizationId: r.organizationId, site: EMPTY_LAYER, users: [] });
  const layers = await db
    .select({ siteId: siteConfig.siteId, config: siteConfig.config, policies: siteConfig.policies })
    .from(siteConfig)
    .where(inArray(siteConfig.siteId, ids));
  const users = await db
    .select()
    .from(sipUsers)
    .where(inArray(sipUsers.siteId, ids))
    .orderBy(asc(sipUsers.domain), asc(sipUsers.username));
  for (const l of layers) {
    const s = out.get(l.siteId);
    if (s) s.site = { config: l.config, policies: l.policies };
  }
  for (const u of users) out.get(u.siteId)?.users.push(u);
  return out;
}

/** The organization layers of these organizations (absent = empty). */
export async function loadOrganizationLayers(
  db: Database,
  params: { organizationIds: readonly string[] },
): Promise<Map<string, ConfigLayer>> {
  const out = new Map<string, ConfigLayer>();
  if (params.organizationIds.length === 0) return out;
  const rows = await db
    .select({
      organizationId: organizationConfig.organizationId,
      config: organizationConfig.config,
      policies: organizationConfig.policies,
    })
    .from(organizationConfig)
    .where(inArray(organizationConfig.organizationId, [...params.organizationIds]));
  for (const r of rows) out.set(r.organizationId, { config: r.config, policies: r.policies });
  return out;
}

/** The agents of these sites, with their site. */
export async function agentsOfSites(
  db: Database,
  params: { siteIds: readonly string[] },
): Promise<{ id: string; siteId: string }[]> {
  if (params.siteIds.length === 0) return [];
  return db
    .select({ id: agents.id, siteId: agents.siteId })
    .from(agents)
    .where(inArray(agents.siteId, [...params.siteIds]))
    .orderBy(asc(agents.id));
}
