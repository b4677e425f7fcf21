import { type DesiredState, DesiredStateSchema } from '@sipwall/shared';
import type { Database } from '../db/client.js';
import { insertConfigVersions, latestConfigVersions } from '../db/queries/config-versions.js';
import {
  agentsOfSites,
  type ConfigLayer,
  EMPTY_LAYER,
  loadOrganizationLayers,
  loadSiteInputs,
} from '../db/queries/fleet-config.js';
import { siteRowsInIdOrder } from '../db/queries/sites.js';
import { DomainError } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  type CompileResult,
  compileSite,
  contentOf,
  type DesiredContent,
  isEmptyContent,
  sameContent,
} from './compile.js';
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

/** Sites per transaction when many are compiled and versioned (bounds locks and statement size). */
export const SITES_PER_TRANSACTION = 250;

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Compiles many sites from their stored inputs (read in a few queries per chunk, not three per
 * site); `candidate` layers replace the stored ones. Returns each site's result.
 */
async function compileSites(
  db: Database,
  params: { siteIds: readonly string[]; candidate?: CandidateLayers; lock?: boolean },
): Promise<Map<string, { organizationId: string; result: CompileResult }>> {
  const inputs = await loadSiteInputs(db, { siteIds: params.siteIds, lock: params.lock ?? false });
  const orgIds = [...new Set([...inputs.values()].map((i) => i.organizationId))];
  const orgLayers = await loadOrganizationLayers(db, { organizationIds: orgIds });
  const out = new Map<string, { organizationId: string; result: CompileResult }>();
  for (const [siteId, i] of inputs) {
    const result = compileSite({
      organization: params.candidate?.organization ?? orgLayers.get(i.organizationId) ?? EMPTY_LAYER,
      site: params.candidate?.site ?? i.site,
      users: i.users,
    });
    out.set(siteId, { organizationId: i.organizationId, result });
  }
  return out;
}

/**
 * Throws `invalid-input` naming field and value when a candidate layer would make any of the
 * sites compile to an invalid desired state. Nothing is written before this passes.
 */
export async function assertCompiles(
  db: Database,
  params: { organizationId: string; sites: { id: string; name: string }[]; candidate: CandidateLayers },
): Promise<void> {
  for (const part of chunks(params.sites, SITES_PER_TRANSACTION)) {
    const compiled = await compileSites(db, { siteIds: part.map((s) => s.id), candidate: params.candidate });
    for (const site of part) {
      const r = compiled.get(site.id)?.result;
      if (r !== undefined && !r.ok)
        throw new DomainError(
          'invalid-input',
          `the change makes site "${site.name}" invalid: ${r.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
          r.issues,
        );
    }
  }
}

/** One agent's next version, decided against its latest (pure). */
function nextVersion(
  clock: Clock,
  agentId: string,
  content: DesiredContent,
  latest: { version: number; payload: unknown } | undefined,
): { push: AgentPush; state: DesiredState | null } {
  if (latest) {
    // Stored payloads were validated with `DesiredStateSchema` before they were written.
    if (sameContent(contentOf(latest.payload as DesiredState), content))
      return { push: { agentId, version: latest.version, changed: false }, state: null };
  } else if (isEmptyContent(content)) {
    // Nothing managed yet: the agent keeps running on its own file, no version 1 of nothing.
    return { push: { agentId, version: null, changed: false }, state: null };
  }
  const version = (latest?.version ?? 0) + 1;
  const state: DesiredState = { version, issuedAt: clock().toISOString(), ...content };
  return { push: { agentId, version, changed: true }, state };
}

/**
 * Stores the decided versions (inside the caller's transaction, which holds the site locks) and,
 * once committed, publishes them: retained, QoS 1, all at once (the broker takes thousands).
 */
async function storeVersions(
  tx: Database,
  decided: readonly { push: AgentPush; state: DesiredState | null }[],
  createdBy: string | null,
): Promise<void> {
  const rows = [];
  for (const d of decided) {
    if (d.state === null) continue;
    // Validated once here; nothing invalid is stored or leaves the control plane.
    rows.push({
      agentId: d.push.agentId,
      version: d.push.version!,
      payload: DesiredStateSchema.parse(d.state),
      createdBy,
    });
  }
  await insertConfigVersions(tx, rows);
}

async function publishDecided(
  deps: PublishDeps,
  decided: readonly { push: AgentPush; state: DesiredState | null }[],
  siteOf: (agentId: string) => string | undefined,
): Promise<void> {
  const sent = decided.filter((d) => d.state !== null);
  await Promise.all(sent.map((d) => deps.publisher.publishDesired(d.push.agentId, d.state!)));
  // Counts only: users' HA1s never reach a log line.
  for (const d of sent)
    deps.logger.debug(
      {
        agentId: d.push.agentId,
        siteId: siteOf(d.push.agentId),
        version: d.state!.version,
        users: d.state!.users.length,
      },
      'desired version published',
    );
  if (sent.length > 0) deps.logger.info({ agents: sent.length }, 'desired versions published');
}

/** Compiles, decides and stores one chunk's versions inside the caller's transaction. */
async function versionSites(
  tx: Database,
  deps: PublishDeps,
  params: { siteIds: readonly string[]; operatorId: string | null; only?: ReadonlySet<string> },
): Promise<{ decided: { push: AgentPush; state: DesiredState | null }[]; siteOfAgent: Map<string, string> }> {
  const compiled = await compileSites(tx, { siteIds: params.siteIds, lock: true });
  for (const { result } of compiled.values())
    if (!result.ok)
      throw new DomainError('invalid-input', 'site configuration does not compile', result.issues);
  const agentRows = (await agentsOfSites(tx, { siteIds: [...compiled.keys()] })).filter(
    (a) => params.only === undefined || params.only.has(a.id),
  );
  const latest = await latestConfigVersions(tx, { agentIds: agentRows.map((a) => a.id) });
  const decided = agentRows.map((a) => {
    const c = compiled.get(a.siteId)!.result as Extract<CompileResult, { ok: true }>;
    return nextVersion(deps.clock, a.id, c.content, latest.get(a.id));
  });
  await storeVersions(tx, decided, params.operatorId);
  return { decided, siteOfAgent: new Map(agentRows.map((a) => [a.id, a.siteId])) };
}

/** The pushes in site order as asked, agents by id within a site (as `versionSites` decided them). */
function inSiteOrder(
  siteIds: readonly string[],
  decided: readonly { push: AgentPush }[],
  siteOfAgent: ReadonlyMap<string, string>,
): AgentPush[] {
  const bySite = new Map<string, AgentPush[]>();
  for (const d of decided) {
    const siteId = siteOfAgent.get(d.push.agentId)!;
    const list = bySite.get(siteId);
    if (list) list.push(d.push);
    else bySite.set(siteId, [d.push]);
  }
  return siteIds.flatMap((id) => bySite.get(id) ?? []);
}

/**
 * Recompiles the sites and stores + publishes a new version for each agent whose content changed.
 * Sites go in chunks, each in one transaction holding the chunk's site row locks, so compiling and
 * versioning of a site never interleave with another change (two changes at once cannot store a
 * stale compilation as the newer version). Each chunk's versions are published after its commit.
 */
export async function publishSites(
  db: Database,
  deps: PublishDeps,
  params: { siteIds: string[]; operatorId: string | null; agentIds?: string[] },
): Promise<AgentPush[]> {
  const out: AgentPush[] = [];
  const publishing: Promise<void>[] = [];
  const only = params.agentIds === undefined ? undefined : new Set(params.agentIds);
  for (const part of chunks(params.siteIds, SITES_PER_TRANSACTION)) {
    const { decided, siteOfAgent } = await db.transaction((tx) =>
      versionSites(tx as unknown as Database, deps, {
        siteIds: part,
        operatorId: params.operatorId,
        ...(only ? { only } : {}),
      }),
    );
    for (const p of inSiteOrder(part, decided, siteOfAgent)) out.push(p);
    publishing.push(publishDecided(deps, decided, (id) => siteOfAgent.get(id)));
  }
  await Promise.all(publishing);
  return out;
}

/** Site row locks taken up front, per statement (bounds the statement size like the chunks above). */
async function lockSites(tx: Database, siteIds: readonly string[]): Promise<void> {
  for (const part of chunks(siteIds, SITES_PER_TRANSACTION))
    await siteRowsInIdOrder(tx, { siteIds: part, lock: true });
}

/**
 * Writes a change with `write` and recompiles + versions the sites, all in one transaction: when a
 * site does not compile afterwards (`invalid-input`, the issues named), or anything else fails, the
 * change is rolled back with everything else, so nothing stored changes. The sites' row locks are
 * taken first, in id order (uuid order is the same in JS and Postgres), so `write` reads and writes
 * under them and two changes over overlapping sites wait for each other instead of deadlocking
 * (an insert's foreign-key check share-locks the site row; upgrading it after another change did
 * the same would). The sites are versioned in chunks within the transaction, which holds every
 * lock until the commit; the new versions are published after it, in site order as asked.
 */
export async function writeAndPublishSites<T>(
  db: Database,
  deps: PublishDeps,
  params: { siteIds: readonly string[]; operatorId: string | null },
  write: (tx: Database) => Promise<T>,
): Promise<{ result: T; pushed: AgentPush[] }> {
  const asked = [...new Set(params.siteIds)];
  const ordered = [...asked].sort();
  const { result, decided, siteOfAgent } = await db.transaction(async (txAny) => {
    const tx = txAny as unknown as Database;
    await lockSites(tx, ordered);
    const result = await write(tx);
    const decided: { push: AgentPush; state: DesiredState | null }[] = [];
    const siteOfAgent = new Map<string, string>();
    for (const part of chunks(ordered, SITES_PER_TRANSACTION)) {
      const v = await versionSites(tx, deps, { siteIds: part, operatorId: params.operatorId });
      for (const d of v.decided) decided.push(d);
      for (const [agentId, siteId] of v.siteOfAgent) siteOfAgent.set(agentId, siteId);
    }
    return { result, decided, siteOfAgent };
  });
  await publishDecided(deps, decided, (id) => siteOfAgent.get(id));
  return { result, pushed: inSiteOrder(asked, decided, siteOfAgent) };
}

/** `writeAndPublishSites` for a change to one site's data. */
export function writeAndPublishSite<T>(
  db: Database,
  deps: PublishDeps,
  params: { siteId: string; operatorId: string },
  write: (tx: Database) => Promise<T>,
): Promise<{ result: T; pushed: AgentPush[] }> {
  return writeAndPublishSites(db, deps, { siteIds: [params.siteId], operatorId: params.operatorId }, write);
}

/**
 * Publishes a rollback as the agent's next version: `restore` (an earlier version's config and
 * policies, as merged then) with the site's users as compiled from the database now, so a user
 * deleted or disabled since, or an old password, never comes back. Compiled under the site's row
 * lock like any other change; `invalid-input` with the issues when that combination does not
 * compile (e.g. the old config does not serve a current user's domain), and nothing is stored.
 */
export async function publishRollback(
  db: Database,
  deps: PublishDeps,
  params: { siteId: string; agentId: string; restore: ConfigLayer; version: number; operatorId: string },
): Promise<AgentPush> {
  const decided = await db.transaction(async (txAny) => {
    const tx = txAny as unknown as Database;
    // The restored config and policies are already merged: they stand in for both levels.
    const compiled = await compileSites(tx, {
      siteIds: [params.siteId],
      lock: true,
      candidate: { organization: EMPTY_LAYER, site: params.restore },
    });
    const r = compiled.get(params.siteId)?.result;
    if (r === undefined) throw new DomainError('not-found', 'site not found');
    if (!r.ok)
      throw new DomainError(
        'invalid-input',
        `rolling back to version ${params.version} with the site's current users is invalid: ${r.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
        r.issues,
      );
    const latest = await latestConfigVersions(tx, { agentIds: [params.agentId] });
    const d = [nextVersion(deps.clock, params.agentId, r.content, latest.get(params.agentId))];
    await storeVersions(tx, d, params.operatorId);
    return d;
  });
  await publishDecided(deps, decided, () => params.siteId);
  return decided[0]!.push;
}
