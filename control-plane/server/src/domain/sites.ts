import type { Database } from '../db/client.js';
import { agentIdsOfSite } from '../db/queries/agents.js';
import { appendAudit } from '../db/queries/audit.js';
import { createSite, deleteSite, getSite, renameSite } from '../db/queries/sites.js';
import { DomainError, uniqueOr } from '../errors.js';
import { type Access, requireAccess } from './access.js';
import { type AgentDeps, revokeAgentCredentials } from './agents.js';
import { assertSiteNameFree } from './names.js';

const siteNameConflict = (name: string) => ({
  constraint: 'sites_org_name_key',
  field: 'name',
  message: `a site named "${name}" already exists in this organization`,
});

/** Loads a site the operator may act on (`not-found` for other tenants). */
export async function loadSiteFor(
  db: Database,
  params: { operatorId: string; siteId: string; access: Access },
) {
  const site = await getSite(db, { siteId: params.siteId });
  if (!site) throw new DomainError('not-found', 'site not found');
  await requireAccess(db, { ...params, organizationId: site.organizationId, what: 'site' });
  return site;
}

export async function createSiteFor(
  db: Database,
  params: { operatorId: string; organizationId: string; name: string },
) {
  await requireAccess(db, { ...params, access: 'write' });
  await assertSiteNameFree(db, params);
  const site = await uniqueOr(() => createSite(db, params), siteNameConflict(params.name));
  await appendAudit(db, {
    organizationId: params.organizationId,
    operatorId: params.operatorId,
    action: 'site.create',
    target: site.id,
    detail: { after: { name: site.name } },
  });
  return site;
}

export async function renameSiteFor(
  db: Database,
  params: { operatorId: string; siteId: string; name: string },
) {
  const site = await loadSiteFor(db, { ...params, access: 'write' });
  await assertSiteNameFree(db, { organizationId: site.organizationId, name: params.name, siteId: site.id });
  const renamed = await uniqueOr(() => renameSite(db, params), siteNameConflict(params.name));
  await appendAudit(db, {
    organizationId: site.organizationId,
    operatorId: params.operatorId,
    action: 'site.rename',
    target: site.id,
    detail: { before: { name: site.name }, after: { name: params.name } },
  });
  return renamed!;
}

/** Deletes a site with its agents (each revoked first: its broker credentials stop working), users and config. */
export async function deleteSiteFor(
  db: Database,
  deps: AgentDeps,
  params: { operatorId: string; siteId: string },
) {
  const site = await loadSiteFor(db, { ...params, access: 'write' });
  const agentIds = await agentIdsOfSite(db, { siteId: site.id });
  // Revoke first: if the broker refuses, nothing is deleted yet and the call can be retried.
  for (const agentId of agentIds) await revokeAgentCredentials(db, deps, agentId);
  await deleteSite(db, { siteId: site.id });
  for (const agentId of agentIds) await deps.publisher.clearDesired(agentId);
  await appendAudit(db, {
    organizationId: site.organizationId,
    operatorId: params.operatorId,
    action: 'site.delete',
    target: site.id,
    detail: { before: { name: site.name, agentIds } },
  });
  return { ok: true as const };
}
