import type { ReactNode } from 'react';
import { Link } from 'wouter';
import { ErrorMessage } from '../components/ErrorMessage.js';
import type { Role } from '../lib/roles.js';
import { homePath } from '../lib/route-links.js';
import { useOrg } from '../lib/use-org.js';
import type { Organization } from '../trpc.js';

interface OrgGateProps {
  orgId: string;
  children: (org: { organization: Organization; role: Role }) => ReactNode;
}

/** Renders `children` once the organization is known to be one of the operator's, else says why not. */
export function OrgGate({ orgId, children }: OrgGateProps) {
  const { organization, role, isPending, error } = useOrg(orgId);
  if (isPending) return <p className="muted">Loading…</p>;
  if (error) return <ErrorMessage error={error} title="Could not load organizations" />;
  if (!organization) {
    return (
      <section className="empty-state">
        <h1>Organization not found</h1>
        <p className="muted">It does not exist, or you are not a member of it.</p>
        <Link href={homePath()}>Go to the overview</Link>
      </section>
    );
  }
  return <>{children({ organization, role })}</>;
}
