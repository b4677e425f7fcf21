import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { agents, sites } from '../db/schema/index.js';
import { DomainError } from '../errors.js';

/**
 * The key two names collide on: Unicode-compatible form (NFKC), case folded, runs of whitespace as
 * one space. "HQ", "hq" and "Ｈ Q"-style look-alikes name the same site to a person, so they are
 * refused as duplicates; the exact-match unique constraints of the schema stay as the last guard.
 */
export function nameKey(name: string): string {
  return name.normalize('NFKC').toLocaleLowerCase('en').replace(/\s+/gu, ' ').trim();
}

/** The first of `taken` (other than `selfId`) that `name` collides with, or null. */
export function collidingName(
  name: string,
  taken: readonly { id: string; name: string }[],
  selfId?: string,
): string | null {
  const key = nameKey(name);
  return taken.find((t) => t.id !== selfId && nameKey(t.name) === key)?.name ?? null;
}

function conflict(message: string): DomainError {
  return new DomainError('conflict', message, [{ path: 'name', message }]);
}

/** Refuses a site name that another site of the organization already has (case and spacing aside). */
export async function assertSiteNameFree(
  db: Database,
  params: { organizationId: string; name: string; siteId?: string },
): Promise<void> {
  const taken = await db
    .select({ id: sites.id, name: sites.name })
    .from(sites)
    .where(eq(sites.organizationId, params.organizationId));
  const clash = collidingName(params.name, taken, params.siteId);
  if (clash !== null)
    throw conflict(`a site named "${clash}" already exists in this organization (asked: "${params.name}")`);
}

/** Refuses an agent name that another agent of the site already has (case and spacing aside). */
export async function assertAgentNameFree(
  db: Database,
  params: { siteId: string; name: string; agentId?: string },
): Promise<void> {
  const taken = await db
    .select({ id: agents.id, name: agents.name })
    .from(agents)
    .where(eq(agents.siteId, params.siteId));
  const clash = collidingName(params.name, taken, params.agentId);
  if (clash !== null)
    throw conflict(`an agent named "${clash}" already exists in this site (asked: "${params.name}")`);
}
