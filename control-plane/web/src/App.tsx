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
          {(p) => <InvitationPage token={p.token} operator={operator} />}
        </Route>
        <Route path="/orgs/:orgId">{(p) => <OrgOverviewPage orgId={p.orgId} />}</Route>
        <Route path="/orgs/:orgId/sites/:siteId/users/:userId">
          {(p) => <SipUserPage orgId={p.orgId} siteId={p.siteId} userId={p.userId} />}
        </Route>
        <Route path="/orgs/:orgId/sites/:siteId/:tab?">
          {(p) => <SitePage orgId={p.orgId} siteId={p.siteId} tab={p.tab} />}
        </Route>
        <Route path="/orgs/:orgId/agents/:agentId">
          {(p) => <AgentPage orgId={p.orgId} agentId={p.agentId} />}
        </Route>
        <Route path="/orgs/:orgId/calls/:callId">
          {(p) => <CallPage orgId={p.orgId} callId={p.callId} />}
        </Route>
        <Route path="/orgs/:orgId/stats">{(p) => <StatsPage orgId={p.orgId} />}</Route>
        <Route path="/orgs/:orgId/changes">{(p) => <ChangesPage orgId={p.orgId} />}</Route>
        <Route path="/orgs/:orgId/audit">{(p) => <AuditPage orgId={p.orgId} />}</Route>
        <Route path="/orgs/:orgId/settings">{(p) => <SettingsPage orgId={p.orgId} />}</Route>
        <Route component={NotFoundPage} />
      </Switch>
    </Layout>
  );
}
