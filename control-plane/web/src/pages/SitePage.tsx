import { Link } from 'wouter';
import { isSiteTab, SITE_TABS, type SiteTab, sitePath } from '../lib/route-links.js';
import { PolicyEditor, SipUsersPanel, SiteActions } from '../views/changes/index.js';
import { OrgGate } from './OrgGate.js';

const TAB_LABELS: Record<SiteTab, string> = {
  overview: 'Overview',
  phones: 'Phones',
  calls: 'Calls',
  users: 'Users',
  config: 'Config',
  security: 'Security',
};

/** `/orgs/:orgId/sites/:siteId/:tab` — one site, one tab per concern; tabs are links. */
export function SitePage({ orgId, siteId, tab }: { orgId: string; siteId: string; tab: string | undefined }) {
  const current: SiteTab | null = tab === undefined ? 'overview' : isSiteTab(tab) ? tab : null;
  return (
    <OrgGate orgId={orgId}>
      {({ role }) => (
        <section className="page">
          <div className="page-header">
            <h1>Site</h1>
            <SiteActions organizationId={orgId} siteId={siteId} role={role} />
          </div>
          <nav className="tabs" aria-label="Site sections">
            {SITE_TABS.map((t) => (
              <Link
                key={t}
                href={sitePath(orgId, siteId, t)}
                aria-current={t === current ? 'page' : undefined}
              >
                {TAB_LABELS[t]}
              </Link>
            ))}
          </nav>
          {current === null ? <p className="empty">No such tab: {tab}</p> : null}
          {current === 'users' ? <SipUsersPanel organizationId={orgId} siteId={siteId} role={role} /> : null}
          {current === 'config' ? <PolicyEditor organizationId={orgId} siteId={siteId} role={role} /> : null}
        </section>
      )}
    </OrgGate>
  );
}
