import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { ErrorMessage } from '../components/ErrorMessage.js';
import type { Role } from '../lib/roles.js';
import { isSiteTab, orgPath, SITE_TABS, type SiteTab, sitePath, statsPath } from '../lib/route-links.js';
import { useTRPC } from '../trpc.js';
import { PolicyEditor, SipUsersPanel, SiteActions } from '../views/changes/index.js';
import { OrgGate } from './OrgGate.js';
import { CallsTab } from './site/CallsTab.js';
import { PhonesTab } from './site/PhonesTab.js';
import { SecurityTab } from './site/SecurityTab.js';
import { SiteOverviewTab } from './site/SiteOverviewTab.js';

const TAB_LABELS: Record<SiteTab, string> = {
  overview: 'Overview',
  phones: 'Phones',
  calls: 'Calls',
  users: 'Users',
  config: 'Config',
  security: 'Security',
};

/** `/orgs/:orgId/sites/:siteId/:tab` — one site, one tab per concern; the tabs are links. */
export function SitePage({ orgId, siteId, tab }: { orgId: string; siteId: string; tab: string | undefined }) {
  return (
    <OrgGate orgId={orgId}>
      {({ organization, role }) => (
        <Site orgId={orgId} orgName={organization.name} siteId={siteId} tab={tab} role={role} />
      )}
    </OrgGate>
  );
}

function Site(props: {
  orgId: string;
  orgName: string;
  siteId: string;
  tab: string | undefined;
  role: Role;
}) {
  const { orgId, siteId, role } = props;
  const trpc = useTRPC();
  const sites = useQuery(trpc.sites.list.queryOptions({ organizationId: orgId }));
  const site = sites.data?.find((s) => s.id === siteId);
  const current: SiteTab | null =
    props.tab === undefined ? 'overview' : isSiteTab(props.tab) ? props.tab : null;

  if (sites.isPending) return <p className="muted">Loading the site…</p>;
  if (sites.isError) return <ErrorMessage error={sites.error} title="Could not load the site" />;
  if (!site) {
    return (
      <section className="empty-state">
        <h1>Site not found</h1>
        <p className="muted">It may have been deleted.</p>
        <Link href={orgPath(orgId)}>Back to {props.orgName}</Link>
      </section>
    );
  }
  return (
    <section className="page">
      <p className="breadcrumb">
        <Link href={orgPath(orgId)}>{props.orgName}</Link> ›
      </p>
      <div className="page-header">
        <h1>{site.name}</h1>
        <Link href={statsPath(orgId, { siteId })} className="small">
          Statistics
        </Link>
        <span className="spacer" />
        <SiteActions organizationId={orgId} siteId={siteId} role={role} />
      </div>
      <nav className="tabs" aria-label="Site sections">
        {SITE_TABS.map((t) => (
          <Link key={t} href={sitePath(orgId, siteId, t)} aria-current={t === current ? 'page' : undefined}>
            {TAB_LABELS[t]}
          </Link>
        ))}
      </nav>
      <div className="tab-panel">
        {current === null ? <p className="empty">This site has no tab “{props.tab}”.</p> : null}
        {current === 'overview' ? (
          <SiteOverviewTab orgId={orgId} siteId={siteId} siteName={site.name} role={role} />
        ) : null}
        {current === 'phones' ? <PhonesTab orgId={orgId} siteId={siteId} /> : null}
        {current === 'calls' ? <CallsTab orgId={orgId} siteId={siteId} /> : null}
        {current === 'users' ? <SipUsersPanel organizationId={orgId} siteId={siteId} role={role} /> : null}
        {current === 'config' ? <PolicyEditor organizationId={orgId} siteId={siteId} role={role} /> : null}
        {current === 'security' ? <SecurityTab siteId={siteId} /> : null}
      </div>
    </section>
  );
}
