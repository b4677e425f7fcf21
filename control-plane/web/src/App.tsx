import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { Route, Switch } from 'wouter';
import { ErrorMessage } from './components/ErrorMessage.js';
import { Layout } from './components/Layout.js';
import { SignIn } from './components/SignIn.js';
import { AccountPage } from './pages/AccountPage.js';
import { AgentPage } from './pages/AgentPage.js';
import { CallPage } from './pages/CallPage.js';
import { HomePage } from './pages/HomePage.js';
import { InvitationPage } from './pages/InvitationPage.js';
import { NotFoundPage } from './pages/NotFoundPage.js';
import { AuditPage, ChangesPage, SettingsPage, StatsPage } from './pages/OrgPages.js';
import { OrgOverviewPage } from './pages/OrgOverviewPage.js';
import { SipUserPage } from './pages/SipUserPage.js';
import { SitePage } from './pages/SitePage.js';
import { isMeQuery, useTRPC } from './trpc.js';

/**
 * A path parameter as written: the router leaves reserved characters escaped (`%40` for the `@`
 * of a Call-ID), and route-links encode every segment.
 */
function param<T extends string | undefined>(value: T): T {
  if (value === undefined) return value;
  try {
    return decodeURIComponent(value) as T;
  } catch {
    return value;
  }
}

/**
 * Signed out → the sign-in form, at whatever URL was opened (so a deep link lands where it
 * pointed once signed in); signed in → the page the URL names. `auth.me` is the source of truth.
 */
export function App() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const me = useQuery(trpc.auth.me.queryOptions());
  const signedIn = Boolean(me.data);

  // Signed out (sign-out, or a 401 anywhere): the pages have unmounted by now, so nothing polls;
  // cancel what is in flight and forget everything the session could see.
  useEffect(() => {
    if (signedIn) return;
    const notMe = { predicate: (q: { queryKey: readonly unknown[] }) => !isMeQuery(q.queryKey) };
    void queryClient.cancelQueries(notMe);
    queryClient.removeQueries(notMe);
  }, [signedIn, queryClient]);

  if (me.isPending) return <p className="page-loading">Loading…</p>;
  if (me.isError) {
    return (
      <main className="page-centered">
        <ErrorMessage error={me.error} title="The control plane is not reachable" />
        <button type="button" onClick={() => void me.refetch()}>
          Try again
        </button>
      </main>
    );
  }
  const operator = me.data;
  if (!operator) return <SignIn />;
  return (
    <Layout operator={operator}>
      <Switch>
        <Route path="/" component={HomePage} />
        <Route path="/account">{() => <AccountPage operator={operator} />}</Route>
        <Route path="/invitations/:token">
          {(p) => <InvitationPage token={param(p.token)} operator={operator} />}
        </Route>
        <Route path="/orgs/:orgId">{(p) => <OrgOverviewPage orgId={param(p.orgId)} />}</Route>
        <Route path="/orgs/:orgId/sites/:siteId/users/:userId">
          {(p) => <SipUserPage orgId={param(p.orgId)} siteId={param(p.siteId)} userId={param(p.userId)} />}
        </Route>
        <Route path="/orgs/:orgId/sites/:siteId/:tab?">
          {(p) => <SitePage orgId={param(p.orgId)} siteId={param(p.siteId)} tab={param(p.tab)} />}
        </Route>
        <Route path="/orgs/:orgId/agents/:agentId">
          {(p) => <AgentPage orgId={param(p.orgId)} agentId={param(p.agentId)} />}
        </Route>
        <Route path="/orgs/:orgId/calls/:callId">
          {(p) => <CallPage orgId={param(p.orgId)} callId={param(p.callId)} />}
        </Route>
        <Route path="/orgs/:orgId/stats">{(p) => <StatsPage orgId={param(p.orgId)} />}</Route>
        <Route path="/orgs/:orgId/changes">{(p) => <ChangesPage orgId={param(p.orgId)} />}</Route>
        <Route path="/orgs/:orgId/audit">{(p) => <AuditPage orgId={param(p.orgId)} />}</Route>
        <Route path="/orgs/:orgId/settings">{(p) => <SettingsPage orgId={param(p.orgId)} />}</Route>
        <Route component={NotFoundPage} />
      </Switch>
    </Layout>
  );
}
