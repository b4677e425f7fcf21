import type { ManagedConfig, PoliciesPatch } from '@sipwall/shared';
import type { Database } from '../db/client.js';
import { getAgent } from '../db/queries/agents.js';
import { appendAudit } from '../db/queries/audit.js';
import { getSiteLayer, setSiteLayer } from '../db/queries/fleet-config.js';
import {
  canaryRollouts,
  finishCanary,
  getRollout,
  insertRollout,
  type RolloutRow,
} from '../db/queries/rollouts.js';
import { listSites } from '../db/queries/sites.js';
import type { RolloutTarget } from '../db/schema/index.js';
import { DomainError } from '../errors.js';
import { requireAccess } from './access.js';
import { overlay } from './compile.js';
import { configState } from './config-state.js';
import {
  type AgentPush,
  assertCompiles,
  chunks,
  type PublishDeps,
  SITES_PER_TRANSACTION,
  writeAndPublishSites,
} from './publish.js';

/** A patch overlaid on each selected site's overrides (objects merge, lists and scalars replace). */
export interface SitePatch {
  config?: ManagedConfig | undefined;
  policies?: PoliciesPatch | undefined;
}

/** What one canary agent says about the rollout (pure). */
export type CanaryVerdict = { kind: 'done' } | { kind: 'waiting' } | { kind: 'failed'; reason: string };

/**
 * Pure: a canary agent is done when it reports the rollout's version (or a later one) applied and
 * is online; it failed when it rejected or reverted that version; otherwise the rollout waits.
 */
export function canaryVerdict(
  target: RolloutTarget,
  agent: {
    online: boolean;
    appliedVersion: number | null;
    reportedStatus: string | null;
    rejectedVersion: number | null;
    errors: { path: string; message: string }[];
  } | null,
): CanaryVerdict {
  if (!agent) return { kind: 'failed', reason: `canary agent ${target.agentId} was deleted` };
  const state = configState({ ...agent, desiredVersion: target.version });
  if (state === 'rejected' || state === 'reverted') {
    const why = agent.errors.map((e) => `${e.path}: ${e.message}`).join('; ');
    return {
      kind: 'failed',
      reason: `canary agent ${target.agentId} ${state} version ${target.version}${why ? ` (${why})` : ''}`,
    };
  }
  if (agent.appliedVersion !== null && agent.appliedVersion >= target.version && agent.online)
    return { kind: 'done' };
  return { kind: 'waiting' };
}

function patched(layer: { config: ManagedConfig; policies: PoliciesPatch }, patch: SitePatch) {
  return {
    config: patch.config ? overlay(layer.config, patch.config) : layer.config,
    policies: patch.policies ? overlay(layer.policies, patch.policies) : layer.policies,
  };
}

/**
 * Writes the patch into each site's overrides and versions the sites, in transactions of
 * `SITES_PER_TRANSACTION` sites that hold their site locks from the read of each layer to its
 * versions (a site's own config change cannot be lost between the read and the write, nor a
 * layer stored unversioned); each chunk is published after its commit.
 */
async function applyPatch(
  db: Database,
  deps: PublishDeps,
  siteIds: string[],
  patch: SitePatch,
  operatorId: string | null,
) {
  const pushed: AgentPush[] = [];
  for (const part of chunks(siteIds, SITES_PER_TRANSACTION)) {
    const r = await writeAndPublishSites(db, deps, { siteIds: part, operatorId }, async (tx) => {
      for (const siteId of part)
        await setSiteLayer(tx, {
          siteId,
          layer: patched(await getSiteLayer(tx, { siteId }), patch),
          at: deps.clock(),
        });
    });
    for (const p of r.pushed) pushed.push(p);
  }
  return pushed;
}

/**
 * Starts a bulk change over `siteIds`. With `canarySiteIds` the change goes to those sites first
 * and the rollout waits in `canary`; without, it goes everywhere at once (`completed`). Every
 * selected site is validated with the patch before anything is written.
 */
export async function startRolloutFor(
  db: Database,
  deps: PublishDeps,
  params: {
    operatorId: string;
    organizationId: string;
    canarySiteIds: string[];
    siteIds: string[];
    change: SitePatch;
  },
): Promise<RolloutRow> {
  await requireAccess(db, { ...params, access: 'admin' });
  const all = await listSites(db, params);
  const byId = new Map(all.map((s) => [s.id, s]));
  const wanted = [...new Set([...params.canarySiteIds, ...params.siteIds])];
  for (const id of wanted)
    if (!byId.has(id))
      throw new DomainError('not-found', 'site not found', [
        { path: 'siteIds', message: `no site ${id} in this organization` },
      ]);
  for (const id of wanted) {
    const site = byId.get(id)!;
    const layer = patched(await getSiteLayer(db, { siteId: id }), params.change);
    await assertCompiles(db, {
      organizationId: params.organizationId,
      sites: [site],
      candidate: { site: layer },
    });
  }
  const canary = [...new Set(params.canarySiteIds)];
  const rest = wanted.filter((id) => !canary.includes(id));
  const pushed = await applyPatch(
    db,
    deps,
    canary.length > 0 ? canary : rest,
    params.change,
    params.operatorId,
  );
  const targets =
    canary.length > 0
      ? pushed.filter((p) => p.version !== null).map((p) => ({ agentId: p.agentId, version: p.version! }))
      : [];
  const rollout = await insertRollout(db, {
    organizationId: params.organizationId,
    state: canary.length > 0 ? 'canary' : 'completed',
    change: params.change,
    canarySiteIds: canary,
    restSiteIds: rest,
    canaryTargets: targets,
    reason: null,
    createdBy: params.operatorId,
  });
  await appendAudit(db, {
    organizationId: params.organizationId,
    operatorId: params.operatorId,
    action: 'rollout.start',
    target: rollout.id,
    detail: { after: { change: params.change, canarySiteIds: canary, restSiteIds: rest } },
  });
  return canary.length > 0 ? ((await advanceRollout(db, deps, rollout.id)) ?? rollout) : rollout;
}

/**
 * Looks at a canary rollout's agents: all done → the change goes to the rest (`completed`); one
 * failed → `halted` with the reason; else it keeps waiting. Safe to call any time, from anywhere.
 */
export async function advanceRollout(
  db: Database,
  deps: PublishDeps,
  rolloutId: string,
): Promise<RolloutRow | null> {
  const rollout = await getRollout(db, { rolloutId });
  if (rollout?.state !== 'canary') return rollout;
  const verdicts = await Promise.all(
    rollout.canaryTargets.map(async (t) => canaryVerdict(t, await getAgent(db, { agentId: t.agentId }))),
  );
  const failed = verdicts.find((v) => v.kind === 'failed');
  const at = deps.clock();
  if (failed && failed.kind === 'failed') {
    if (await finishCanary(db, { rolloutId, state: 'halted', reason: failed.reason, at }))
      await appendAudit(db, {
        organizationId: rollout.organizationId,
        operatorId: null,
        action: 'rollout.halted',
        target: rollout.id,
        detail: { reason: failed.reason },
      });
  } else if (verdicts.every((v) => v.kind === 'done')) {
    // Apply first, then mark completed: overlaying the same patch twice is idempotent (and equal
    // content makes no new version), so a concurrent check doing it too is harmless.
    await applyPatch(db, deps, rollout.restSiteIds, rollout.change, rollout.createdBy);
    if (await finishCanary(db, { rolloutId, state: 'completed', reason: null, at })) {
      await appendAudit(db, {
        organizationId: rollout.organizationId,
        operatorId: null,
        action: 'rollout.completed',
        target: rollout.id,
        detail: { restSiteIds: rollout.restSiteIds },
      });
    }
  }
  return getRollout(db, { rolloutId });
}

/** Advances every canary rollout (periodic check), or those of one agent's organization (on `reported`). */
export async function advanceRollouts(
  db: Database,
  deps: PublishDeps,
  params: { agentId?: string } = {},
): Promise<void> {
  let organizationId: string | undefined;
  if (params.agentId !== undefined) {
    const agent = await getAgent(db, { agentId: params.agentId });
    if (!agent) return;
    organizationId = agent.organizationId;
  }
  for (const r of await canaryRollouts(db, organizationId === undefined ? {} : { organizationId }))
    await advanceRollout(db, deps, r.id);
}
