import { OrganizationFleet } from '../components/OrganizationFleet.js';
import { OrgGate } from './OrgGate.js';

/** `/orgs/:orgId` — the organization overview. */
export function OrgOverviewPage({ orgId }: { orgId: string }) {
  return (
    <OrgGate orgId={orgId}>
      {({ organization }) => (
        <section className="page">
          <h1>{organization.name}</h1>
          <OrganizationFleet organizationId={orgId} />
        </section>
      )}
    </OrgGate>
  );
}
