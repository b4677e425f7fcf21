import { type DesiredState, DesiredStateSchema } from '@sipwall/shared';
import { asc, inArray } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { latestConfigVersions } from '../db/queries/config-versions.js';
import { EMPTY_LAYER, loadOrganizationLayers, loadSiteInputs } from '../db/queries/fleet-config.js';
import { listSites } from '../db/queries/sites.js';
import { agents } from '../db/schema/index.js';
import { DomainError } from '../errors.js';
import { requireAccess } from './access.js';
import {
  type ContentChange,
  compileSite,
  contentOf,
  diffContent,
  isEmptyContent,
  overlay,
} from './compile.js';
import type { SitePatch } from './rollouts.js';

/** Most sites one preview compiles (a preview is read by a person; a bigger selection is pushed blind). */
export const MAX_PREVIEW_SITES = 200;

/** What pushing the patch would do to one agent: the diff from its latest version. */
export interface AgentPreview {
  agentId: string;
  name: string;
  /** Its latest desired version (null: none yet). */
  latestVersion: number | null;
  changes: ContentChange[];
}

export type SitePreview =
  | { siteId: string; siteName: string; ok: true; agents: AgentPreview[] }
  | { siteId: string; siteName: string; ok: false; issues: { path: string; message: string }[] };

/** The site's overrides with the patch overlaid, as `rollouts.start` writes them. */
function patched(layer: typeof EMPTY_LAYER, patch: SitePatch) {
  return {
    config: patch.config ? overlay(layer.config, patch.config) : layer.config,
    policies: patch.policies ? overlay(layer.policies, patch.policies) : layer.policies,
  };
}

const EMPTY_CONTENT = { config: {}, users: [], policies: {} };

/**
 * Pure: the diff for each agent of a site from its latest version to `content` (HA1s hidden by
 * `diffContent`). An agent with no version and nothing to manage gets no changes.
 */
export function agentPreviews(
  siteAgents: readonly { id: string; name: string }[],
  latest: ReadonlyMap<string, { version: number; payload: unknown }>,
  content: ReturnType<typeof contentOf>,
): AgentPreview[] {
  return siteAgents.map((a) => {
    const row = latest.get(a.id);
    const before = row ? contentOf(DesiredStateSchema.parse(row.payload) as DesiredState) : EMPTY_CONTENT;
    const changes = !row && isEmptyContent(content) ? [] : diffContent(before, content);
    return { agentId: a.id, name: a.name, latestVersion: row?.version ?? null, changes };
  });
}

/**
 * What `rollouts.start` (or an empty patch = a plain push) would change on each selected site's
 * agents, without writing anything. Invalid results are reported per site with their issues.
 */
export async function previewChangeFor(
  db: Database,
  params: { operatorId: string; organizationId: string; siteIds: string[]; change: SitePatch },
): Promise<SitePreview[]> {
  await requireAccess(db, { ...params, access: 'read' });
  const wanted = [...new Set(params.siteIds)];
  if (wanted.length > MAX_PREVIEW_SITES)
    throw new DomainError('invalid-input', `preview at most ${MAX_PREVIEW_SITES} sites at once`, [
      { path: 'siteIds', message: `${wanted.length} sites selected; at most ${MAX_PREVIEW_SITES}` },
    ]);
  const byId = new Map((await listSites(db, params)).map((s) => [s.id, s]));
  for (const id of wanted)
    if (!byId.has(id))
      throw new DomainError('not-found', 'site not found', [
        { path: 'siteIds', message: `no site ${id} in this organization` },
      ]);
  const inputs = await loadSiteInputs(db, { siteIds: wanted });
  const org =
    (await loadOrganizationLayers(db, { organizationIds: [params.organizationId] })).get(
      params.organizationId,
    ) ?? EMPTY_LAYER;
  const siteAgents =
    wanted.length === 0
      ? []
      : await db
          .select({ id: agents.id, name: agents.name, siteId: agents.siteId })
          .from(agents)
          .where(inArray(agents.siteId, wanted))
          .orderBy(asc(agents.name));
  const latest = await latestConfigVersions(db, { agentIds: siteAgents.map((a) => a.id) });
  return wanted.map((siteId): SitePreview => {
    const site = byId.get(siteId)!;
    const input = inputs.get(siteId);
    const result = compileSite({
      organization: org,
      site: patched(input?.site ?? EMPTY_LAYER, params.change),
      users: input?.users ?? [],
    });
    if (!result.ok) return { siteId, siteName: site.name, ok: false, issues: result.issues };
    const mine = siteAgents.filter((a) => a.siteId === siteId);
    return { siteId, siteName: site.name, ok: true, agents: agentPreviews(mine, latest, result.content) };
  });
}
