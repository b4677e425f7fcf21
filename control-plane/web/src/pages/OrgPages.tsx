import { useSearch } from 'wouter';
import { AuditLogView, MembersView, PolicyEditor, PushPanel } from '../views/changes/index.js';
import { StatisticsView } from '../views/stats/index.js';
import { OrgGate } from './OrgGate.js';

/** `/orgs/:orgId/stats?site=` — the insight engineer's statistics view. */
export function StatsPage({ orgId }: { orgId: string }) {
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
  return (
    <OrgGate orgId={orgId}>
      {() => (
        <section className="page">
          <h1>Audit log</h1>
          <AuditLogView organizationId={orgId} />
        </section>
      )}
    </OrgGate>
  );
}

/** `/orgs/:orgId/settings` — organization policy, members and invitations. */
export function SettingsPage({ orgId }: { orgId: string }) {
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
