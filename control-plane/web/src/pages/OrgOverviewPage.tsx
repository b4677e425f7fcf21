import { useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { Link } from 'wouter';
import { CreateSiteForm } from '../components/CreateSiteForm.js';
import { ErrorMessage } from '../components/ErrorMessage.js';
import { formatPercent } from '../lib/format.js';
import { type Role, roleAtLeast } from '../lib/roles.js';
import { sitePath } from '../lib/route-links.js';
import { type SiteHealth, useTRPC } from '../trpc.js';
import { OrgGate } from './OrgGate.js';

/** How often the overview refreshes (live updates without a reload). */
export const OVERVIEW_POLL_MS = 5_000;

type Filter = 'all' | 'problems' | 'offline';
const FILTERS: { value: Filter; label: string }[] = [
  { value: 'all', label: 'All sites' },
  { value: 'problems', label: 'Only with problems' },
  { value: 'offline', label: 'Agents offline' },
];

/** Why a site needs a look (empty: healthy). */
function problemsOf(s: SiteHealth): string[] {
  const out: string[] = [];
  if (s.agents.total === 0) out.push('no agent');
  if (s.agents.offline > 0) out.push(`${s.agents.offline} offline`);
  if (s.agents.notEnrolled > 0) out.push(`${s.agents.notEnrolled} not enrolled`);
  if (s.config.failed > 0) out.push(`${s.config.failed} config failed`);
  if (s.oneWayToday > 0) out.push(`${s.oneWayToday} one-way call${s.oneWayToday === 1 ? '' : 's'}`);
  if (s.securityEvents24h > 0)
    out.push(`${s.securityEvents24h} security event${s.securityEvents24h === 1 ? '' : 's'}`);
  return out;
}

function matches(s: SiteHealth, search: string, filter: Filter): boolean {
  if (search && !s.name.toLowerCase().includes(search.toLowerCase())) return false;
  if (filter === 'problems') return problemsOf(s).length > 0;
  if (filter === 'offline') return s.agents.offline > 0;
  return true;
}

/** `/orgs/:orgId` — the organization overview: every site's health at a glance, live. */
export function OrgOverviewPage({ orgId }: { orgId: string }) {
  return (
    <OrgGate orgId={orgId}>
      {({ organization, role }) => <OrgOverview orgId={orgId} name={organization.name} role={role} />}
    </OrgGate>
  );
}

function OrgOverview({ orgId, name, role }: { orgId: string; name: string; role: Role }) {
  const trpc = useTRPC();
  const health = useQuery(
    trpc.overview.sites.queryOptions({ organizationId: orgId }, { refetchInterval: OVERVIEW_POLL_MS }),
  );
  const [search, setSearch] = useState('');
  const [filter, setFilter] = useState<Filter>('all');
  const searchId = useId();
  const filterId = useId();
  const all = health.data ?? [];
  const shown = all.filter((s) => matches(s, search.trim(), filter));

  return (
    <section className="page">
      <div className="page-header">
        <h1>{name}</h1>
        {roleAtLeast(role, 'admin') ? <CreateSiteForm organizationId={orgId} /> : null}
      </div>
      <search className="toolbar">
        <div className="field inline">
          <label htmlFor={searchId}>Search sites</label>
          <input id={searchId} type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        </div>
        <div className="field inline">
          <label htmlFor={filterId}>Show</label>
          <select id={filterId} value={filter} onChange={(e) => setFilter(e.target.value as Filter)}>
            {FILTERS.map((f) => (
              <option key={f.value} value={f.value}>
                {f.label}
              </option>
            ))}
          </select>
        </div>
        <span className="muted small" aria-live="polite">
          {health.isSuccess ? `${shown.length} of ${all.length} sites` : ''}
        </span>
      </search>
      <ErrorMessage error={health.error} title="Could not load the sites" />
      {health.isPending ? <p className="muted">Loading sites…</p> : null}
      {health.isSuccess && all.length === 0 ? (
        <p className="empty">
          No sites yet.{' '}
          {roleAtLeast(role, 'admin')
            ? 'Add one, then add an agent for its firewall.'
            : 'An admin can add them.'}
        </p>
      ) : null}
      {health.isSuccess && all.length > 0 && shown.length === 0 ? (
        <p className="empty">No site matches the search and filter.</p>
      ) : null}
      {shown.length > 0 ? <SitesHealthTable orgId={orgId} sites={shown} /> : null}
    </section>
  );
}

function SitesHealthTable({ orgId, sites }: { orgId: string; sites: SiteHealth[] }) {
  return (
    <table className="data fixed sites-health">
      <colgroup>
        <col className="col-name" />
        <col span={7} />
        <col className="col-alerts" />
      </colgroup>
      <thead>
        <tr>
          <th scope="col">Site</th>
          <th scope="col">Agents</th>
          <th scope="col">Config</th>
          <th scope="col" className="num">
            Phones
          </th>
          <th scope="col" className="num">
            Active calls
          </th>
          <th scope="col" className="num">
            Calls today
          </th>
          <th scope="col" className="num">
            ASR today
          </th>
          <th scope="col" className="num">
            Security 24 h
          </th>
          <th scope="col">Alerts</th>
        </tr>
      </thead>
      <tbody>
        {sites.map((s) => {
          const problems = problemsOf(s);
          return (
            <tr key={s.siteId} data-testid={`site-row-${s.siteId}`}>
              <th scope="row">
                <Link href={sitePath(orgId, s.siteId)}>{s.name}</Link>
              </th>
              <td data-testid={`site-agents-${s.siteId}`}>
                {s.agents.total === 0 ? (
                  <span className="muted">none</span>
                ) : (
                  <>
                    <span className={s.agents.online === s.agents.total ? 'ok' : 'warn'}>
                      {s.agents.online}/{s.agents.total} online
                    </span>
                    {s.agents.offline > 0 ? (
                      <span className="tag tag-offline">{s.agents.offline} offline</span>
                    ) : null}
                  </>
                )}
              </td>
              <td>
                {s.config.failed > 0 ? (
                  <span className="tag tag-rejected">{s.config.failed} failed</span>
                ) : null}
                {s.config.pending > 0 ? (
                  <span className="tag tag-pending">{s.config.pending} pending</span>
                ) : null}
                {s.config.applied > 0 ? (
                  <span className="tag tag-applied">{s.config.applied} applied</span>
                ) : null}
                {s.config.failed + s.config.pending + s.config.applied === 0 ? (
                  <span className="muted">not managed</span>
                ) : null}
              </td>
              <td className="num">{s.registrations}</td>
              <td className="num">{s.activeCalls ?? '—'}</td>
              <td className="num">{s.callsToday}</td>
              <td className="num">{formatPercent(s.asrToday)}</td>
              <td className="num">{s.securityEvents24h}</td>
              <td className={problems.length > 0 ? 'alerts warn' : 'alerts ok'}>
                {problems.length > 0 ? problems.join(', ') : 'OK'}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
