/**
 * Every dashboard URL, built in one place (the router in `App.tsx` matches the same shapes).
 * Path segments are URI-encoded; the ids are UUIDs or slugs, so this rarely changes anything.
 */

export const SITE_TABS = ['overview', 'phones', 'calls', 'users', 'config', 'security'] as const;
export type SiteTab = (typeof SITE_TABS)[number];

export const STATS_RANGES = ['24h', '7d', '30d'] as const;
export type StatsRange = (typeof STATS_RANGES)[number];

export function isSiteTab(value: string | undefined): value is SiteTab {
  return value !== undefined && (SITE_TABS as readonly string[]).includes(value);
}

const seg = encodeURIComponent;

function withQuery(path: string, query: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query))
    if (value !== undefined && value !== '') params.set(key, value);
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

/** `/` — the first organization's overview. */
export function homePath(): string {
  return '/';
}

/** `/orgs/:orgId` — the organization overview (sites with health). */
export function orgPath(orgId: string): string {
  return `/orgs/${seg(orgId)}`;
}

/** `/orgs/:orgId/sites/:siteId[/:tab]` — a site page; the overview tab has the short URL. */
export function sitePath(orgId: string, siteId: string, tab?: SiteTab): string {
  const base = `${orgPath(orgId)}/sites/${seg(siteId)}`;
  return tab && tab !== 'overview' ? `${base}/${tab}` : base;
}

/** `/orgs/:orgId/sites/:siteId/users/:userId` — one SIP user. */
export function sipUserPath(orgId: string, siteId: string, userId: string): string {
  return `${orgPath(orgId)}/sites/${seg(siteId)}/users/${seg(userId)}`;
}

/** `/orgs/:orgId/agents/:agentId` — one agent. */
export function agentPath(orgId: string, agentId: string): string {
  return `${orgPath(orgId)}/agents/${seg(agentId)}`;
}

/** `/orgs/:orgId/calls/:callId?agent=:agentId` — one call (record + ladder). */
export function callPath(orgId: string, callId: string, agentId: string): string {
  return withQuery(`${orgPath(orgId)}/calls/${seg(callId)}`, { agent: agentId });
}

/** `/orgs/:orgId/stats[?site=&range=]` — statistics. */
export function statsPath(orgId: string, options: { siteId?: string; range?: StatsRange } = {}): string {
  return withQuery(`${orgPath(orgId)}/stats`, { site: options.siteId, range: options.range });
}

/** `/orgs/:orgId/changes` — push / rollouts. */
export function changesPath(orgId: string): string {
  return `${orgPath(orgId)}/changes`;
}

/** `/orgs/:orgId/audit` — audit log. */
export function auditPath(orgId: string): string {
  return `${orgPath(orgId)}/audit`;
}

/** `/orgs/:orgId/settings` — organization policy, members, invitations. */
export function settingsPath(orgId: string): string {
  return `${orgPath(orgId)}/settings`;
}

/** `/account` — the signed-in operator. */
export function accountPath(): string {
  return '/account';
}

/** `/invitations/:token` — accept an invitation. */
export function invitationPath(token: string): string {
  return `/invitations/${seg(token)}`;
}
