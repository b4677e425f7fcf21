import { type DesiredState, DesiredStateSchema } from '@sipwall/shared';
import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { insertNextConfigVersion, latestConfigVersion } from '../db/queries/config-versions.js';
import {
  agentIdsOfSites,
  type ConfigLayer,
  getOrganizationLayer,
  getSiteLayer,
  listSipUsers,
} from '../db/queries/fleet-config.js';
import { sites } from '../db/schema/index.js';
import { DomainError } from '../errors.js';
import {
  type CompileResult,
  compileSite,
  type DesiredContent,
  isEmptyContent,
  sameContent,
  contentOf,
} from './compile.js';
import type { Logger } from '../logger.js';
import type { Clock, DesiredPublisher } from './ports.js';

/** What publishing needs. */
export interface PublishDeps {
  clock: Clock;
  publisher: DesiredPublisher;
  logger: Logger;
}

/** The outcome for one agent: its desired version now, and whether this call created it. */
export interface AgentPush {
  agentId: string;
  version: number | null;
  changed: boolean;
}

/** Layers that replace the stored ones while validating a change before it is written. */
export interface CandidateLayers {
  organization?: ConfigLayer;
  site?: ConfigLayer;
}

/** Compiles one site from the database (optionally with a not-yet-stored layer). */
export async function compileSiteFromDb(
  db: Database,
  params: { siteId: string; organizationId: string; candidate?: CandidateLayers },
): Promise<CompileResult> {
  const [organization, site, users] = await Promise.all([
    params.candidate?.organization ?? getOrganizationLayer(db, { organizationId: params.organizationId }),
    params.candidate?.site ?? getSiteLayer(db, { siteId: params.siteId }),
    listSipUsers(db, { siteId: params.siteId }),
  ]);
  return compileSite({ organization, site, users });
}

/**
 * Throws `invalid-input` naming field and value when a candidate layer would make any of the
 * sites compile to an invalid desired state. Nothing is written before this passes.
 */
export async function assertCompiles(
  db: Database,
  params: { organizationId: string; sites: { id: string; name: string }[]; candidate: CandidateLayers },
): Promise<void> {
  for (const site of params.sites) {
    const r = await compileSiteFromDb(db, {
      siteId: site.id,
      organizationId: params.organizationId,
      candidate: params.candidate,
    });
    if (!r.ok)
      throw new DomainError(
        'invalid-input',
        `the change makes site "${site.name}" invalid: ${r.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
        r.issues,
      );
  }
}

/** Stores `content` as the agent's next version unless its latest already has it. Caller holds the site lock. */
async function storeIfChanged(
  tx: Database,
  clock: Clock,
  params: { agentId: string; content: DesiredContent; createdBy: string | null },
): Promise<{ push: AgentPush; state: DesiredState | null }> {
  const latest = await latestConfigVersion(tx, { agentId: params.agentId });
  if (latest) {
    const current = DesiredStateSchema.parse(latest.payload);
    if (sameContent(contentOf(current), params.content))
      return { push: { agentId: params.agentId, version: latest.version, changed: false }, state: null };
  } else if (isEmptyContent(params.content)) {
    // Nothing managed yet: the agent keeps running on its own file, no version 1 of nothing.
    return { push: { agentId: params.agentId, version: null, changed: false }, state: null };
  }
  let state: DesiredState | null = null;
  const row = await insertNextConfigVersion(tx, {
    agentId: params.agentId,
    createdBy: params.createdBy,
    build: (version) => {
      state = DesiredStateSchema.parse({ version, issuedAt: clock().toISOString(), ...params.content });
      return state;
    },
  });
  return { push: { agentId: params.agentId, version: row.version, changed: true }, state };
}

/**
 * Runs `fn` holding the site's row lock, so compiling and versioning of one site never
 * interleave (two changes at once cannot store a stale compilation as the newer version),
 * then publishes what it stored, after commit.
 */
async function underSiteLock(
  db: Database,
  deps: PublishDeps,
  siteId: string,
  fn: (tx: Database, organizationId: string) => Promise<{ push: AgentPush; state: DesiredState | null }[]>,
): Promise<AgentPush[]> {
  const results = await db.transaction(async (tx) => {
    const [site] = await tx
      .select({ organizationId: sites.organizationId })
      .from(sites)
      .where(eq(sites.id, siteId))
      .for('update');
    if (!site) return [];
    return fn(tx as unknown as Database, site.organizationId);
  });
  for (const r of results) {
    if (!r.state) continue;
    await deps.publisher.publishDesired(r.push.agentId, r.state);
    // Counts only: users' HA1s never reach a log line.
    deps.logger.info(
      { agentId: r.push.agentId, siteId, version: r.state.version, users: r.state.users.length },
      'desired version published',
    );
  }
  return results.map((r) => r.push);
}

/** Recompiles the sites and stores + publishes a new version for each agent whose content changed. */
export async function publishSites(
  db: Database,
  deps: PublishDeps,
  params: { siteIds: string[]; operatorId: string | null; agentIds?: string[] },
): Promise<AgentPush[]> {
  const out: AgentPush[] = [];
  for (const siteId of params.siteIds) {
    out.push(
      ...(await underSiteLock(db, deps, siteId, async (tx, organizationId) => {
        const compiled = await compileSiteFromDb(tx, { siteId, organizationId });
        if (!compiled.ok)
          throw new DomainError('invalid-input', 'site configuration does not compile', compiled.issues);
        const agentIds = (await agentIdsOfSites(tx, { siteIds: [siteId] })).filter(
          (id) => params.agentIds === undefined || params.agentIds.includes(id),
        );
        const results = [];
        for (const agentId of agentIds)
          results.push(
            await storeIfChanged(tx, deps.clock, {
              agentId,
              content: compiled.content,
              createdBy: params.operatorId,
            }),
          );
        return results;
      })),
    );
  }
  return out;
}

/** Publishes `content` (an earlier version's) as the agent's next version: a rollback. */
export async function publishContent(
  db: Database,
  deps: PublishDeps,
  params: { siteId: string; agentId: string; content: DesiredContent; operatorId: string },
): Promise<AgentPush> {
  const [push] = await underSiteLock(db, deps, params.siteId, async (tx) => [
    await storeIfChanged(tx, deps.clock, {
      agentId: params.agentId,
      content: params.content,
      createdBy: params.operatorId,
    }),
  ]);
  return push!;
}
