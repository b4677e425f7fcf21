import { DesiredStateSchema, type ManagedConfig, type PoliciesPatch } from '@sipwall/shared';
import type { Database } from '../db/client.js';
import { appendAudit } from '../db/queries/audit.js';
import { listConfigVersions } from '../db/queries/config-versions.js';
import {
  type ConfigLayer,
  getOrganizationLayer,
  getSiteLayer,
  setOrganizationLayer,
  setSiteLayer,
} from '../db/queries/fleet-config.js';
import { listSites } from '../db/queries/sites.js';
import { DomainError } from '../errors.js';
import { requireAccess } from './access.js';
import { loadAgentFor } from './agents.js';
import { type ContentChange, contentOf, diffContent } from './compile.js';
import {
  type AgentPush,
  assertCompiles,
  type PublishDeps,
  publishRollback,
  publishSites,
  writeAndPublishSite,
  writeAndPublishSites,
} from './publish.js';
import { loadSiteFor } from './sites.js';

/** A change to one level: present parts replace the stored ones whole (`{}` clears a part). */
export interface LayerChange {
  config?: ManagedConfig | undefined;
  policies?: PoliciesPatch | undefined;
}

function applyChange(layer: ConfigLayer, change: LayerChange): ConfigLayer {
  return { config: change.config ?? layer.config, policies: change.policies ?? layer.policies };
}

/** Managed config is the operator's; policies are the admin's (README "Roles"). */
const neededFor = (change: LayerChange) => (change.policies !== undefined ? 'admin' : 'operator');

export async function getOrganizationConfigFor(
  db: Database,
  params: { operatorId: string; organizationId: string },
) {
  await requireAccess(db, { ...params, access: 'read' });
  return getOrganizationLayer(db, params);
}

/**
 * Replaces the organization's config and/or policies and recompiles and versions every site of the
 * organization, in one transaction holding all their site locks: refused (`invalid-input`, naming
 * the first site the change makes invalid) with nothing stored when any site would not compile,
 * and never stored unaudited or with some sites versioned and others not. Published after the commit.
 */
export async function setOrganizationConfigFor(
  db: Database,
  deps: PublishDeps,
  params: { operatorId: string; organizationId: string; change: LayerChange },
): Promise<{ layer: ConfigLayer; pushed: AgentPush[] }> {
  // Organization-wide changes are the admin's, whatever the part.
  await requireAccess(db, { ...params, access: 'admin' });
  const sites = await listSites(db, params);
  const { result: after, pushed } = await writeAndPublishSites(
    db,
    deps,
    { siteIds: sites.map((s) => s.id), operatorId: params.operatorId },
    async (tx) => {
      // Read under the site locks, which serialise organization-wide changes (given any site).
      const before = await getOrganizationLayer(tx, params);
      const after = applyChange(before, params.change);
      await assertCompiles(tx, {
        organizationId: params.organizationId,
        sites,
        candidate: { organization: after },
      });
      await setOrganizationLayer(tx, {
        organizationId: params.organizationId,
        layer: after,
        at: deps.clock(),
      });
      await appendAudit(tx, {
        organizationId: params.organizationId,
        operatorId: params.operatorId,
        action: 'organization.setConfig',
        target: params.organizationId,
        detail: { before, after },
      });
      return after;
    },
  );
  return { layer: after, pushed };
}

export async function getSiteConfigFor(db: Database, params: { operatorId: string; siteId: string }) {
  const site = await loadSiteFor(db, { ...params, access: 'read' });
  const [organization, own] = await Promise.all([
    getOrganizationLayer(db, { organizationId: site.organizationId }),
    getSiteLayer(db, params),
  ]);
  return { organization, site: own };
}

/**
 * Replaces one site's overrides (validated against the organization's layer: `invalid-input`
 * naming the site), audits and versions the site, in one transaction under the site's row lock, so
 * the check sees what the write changes and nothing is stored when any step fails.
 */
export async function setSiteConfigFor(
  db: Database,
  deps: PublishDeps,
  params: { operatorId: string; siteId: string; change: LayerChange },
): Promise<{ layer: ConfigLayer; pushed: AgentPush[] }> {
  const site = await loadSiteFor(db, { ...params, access: neededFor(params.change) });
  const { result: after, pushed } = await writeAndPublishSite(
    db,
    deps,
    { siteId: site.id, operatorId: params.operatorId },
    async (tx) => {
      const before = await getSiteLayer(tx, params);
      const after = applyChange(before, params.change);
      await assertCompiles(tx, {
        organizationId: site.organizationId,
        sites: [site],
        candidate: { site: after },
      });
      await setSiteLayer(tx, { siteId: site.id, layer: after, at: deps.clock() });
      await appendAudit(tx, {
        organizationId: site.organizationId,
        operatorId: params.operatorId,
        action: 'site.setConfig',
        target: site.id,
        detail: { before, after },
      });
      return after;
    },
  );
  return { layer: after, pushed };
}

/** Recompiles and pushes the agent now (no-op when its latest version is already current). */
export async function pushAgentFor(
  db: Database,
  deps: PublishDeps,
  params: { operatorId: string; agentId: string },
): Promise<AgentPush> {
  const agent = await loadAgentFor(db, { ...params, access: 'operator' });
  const [push] = await publishSites(db, deps, {
    siteIds: [agent.siteId],
    operatorId: params.operatorId,
    agentIds: [agent.id],
  });
  return push ?? { agentId: agent.id, version: null, changed: false };
}

async function versionsOf(db: Database, agentId: string) {
  const rows = await listConfigVersions(db, { agentId });
  return new Map(rows.map((r) => [r.version, r]));
}

function pick<T>(versions: Map<number, T>, version: number): T {
  const row = versions.get(version);
  if (!row)
    throw new DomainError('not-found', `version ${version} not found`, [
      { path: 'version', message: `no version ${version} for this agent` },
    ]);
  return row;
}

/** The structured difference between two versions of an agent (HA1s only shown as changed). */
export async function diffVersionsFor(
  db: Database,
  params: { operatorId: string; agentId: string; from: number; to: number },
): Promise<{ from: number; to: number; changes: ContentChange[] }> {
  const agent = await loadAgentFor(db, { ...params, access: 'read' });
  const versions = await versionsOf(db, agent.id);
  const a = DesiredStateSchema.parse(pick(versions, params.from).payload);
  const b = DesiredStateSchema.parse(pick(versions, params.to).payload);
  return { from: params.from, to: params.to, changes: diffContent(contentOf(a), contentOf(b)) };
}

/**
 * Rolls back to an earlier version: publishes a new version with that version's config and
 * policies, and the site's SIP users as they are now (compiled from the database, never the old
 * version's): rolling back a bad config or policy must not bring back a user deleted or disabled
 * since, or an old password's HA1. Refused (`invalid-input`, nothing stored) when the old config
 * does not serve a current user's domain. The next change to the site's users or config
 * recompiles everything from the database again.
 */
export async function rollbackFor(
  db: Database,
  deps: PublishDeps,
  params: { operatorId: string; agentId: string; version: number },
): Promise<AgentPush> {
  const agent = await loadAgentFor(db, { ...params, access: 'operator' });
  const versions = await versionsOf(db, agent.id);
  const old = DesiredStateSchema.parse(pick(versions, params.version).payload);
  const push = await publishRollback(db, deps, {
    siteId: agent.siteId,
    agentId: agent.id,
    restore: { config: old.config, policies: old.policies },
    version: params.version,
    operatorId: params.operatorId,
  });
  await appendAudit(db, {
    organizationId: agent.organizationId,
    operatorId: params.operatorId,
    action: 'agent.rollback',
    target: agent.id,
    detail: {
      configAndPoliciesOf: params.version,
      users: 'current',
      version: push.version,
      changed: push.changed,
    },
  });
  return push;
}
