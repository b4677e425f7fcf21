import { useSearch } from 'wouter';
import { AuditLogView, MembersView, PolicyEditor, PushPanel } from '../views/changes/index.js';
import { StatisticsView } from '../views/stats/index.js';
import { OrgGate } from './OrgGate.js';
import { roleAtLeast } from '../lib/roles.js';
import { useTitle } from '../lib/use-title.js';

/** `/orgs/:orgId/stats?site=` — the insight engineer's statistics view. */
export function StatsPage({ orgId }: { orgId: string }) {
  useTitle('Statistics');
  const siteId = new URLSearchParams(useSearch()).get('site') ?? undefined;
  return (
    <OrgGate orgId={orgId}>
      {() => (
        <section className="page">
          <h1>Statistics</h1>
          <StatisticsView organizationId={orgId} {...(siteId ? { siteId } : {})} />
        </section>
      )}
    </OrgGate>
  );
}

/** `/orgs/:orgId/changes` — push and rollouts. */
export function ChangesPage({ orgId }: { orgId: string }) {
  useTitle('Changes');
  return (
    <OrgGate orgId={orgId}>
      {({ role }) => (
        <section className="page">
          <h1>Changes</h1>
          <PushPanel organizationId={orgId} role={role} />
        </section>
      )}
    </OrgGate>
  );
}

/** `/orgs/:orgId/audit` — who changed what. */
export function AuditPage({ orgId }: { orgId: string }) {
  useTitle('Audit log');
  return (
    <OrgGate orgId={orgId}>
      {({ role }) => (
        <section className="page">
          <h1>Audit log</h1>
          {roleAtLeast(role, 'admin') ? (
            <AuditLogView organizationId={orgId} />
          ) : (
            <p className="empty">The audit log is open to admins and owners; your role here is {role}.</p>
          )}
        </section>
      )}
    </OrgGate>
  );
}

/** `/orgs/:orgId/settings` — organization policy, members and invitations. */
export function SettingsPage({ orgId }: { orgId: string }) {
  useTitle('Settings');
  return (
    <OrgGate orgId={orgId}>
      {({ role }) => (
        <section className="page">
          <h1>Settings</h1>
          <h2>Organization policy</h2>
          <PolicyEditor organizationId={orgId} role={role} />
          <h2>Members</h2>
          <MembersView organizationId={orgId} role={role} />
        </section>
      )}
    </OrgGate>
  );
}
