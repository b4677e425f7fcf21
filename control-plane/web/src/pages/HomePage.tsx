import { Redirect } from 'wouter';
import { CreateOrganizationForm } from '../components/CreateOrganizationForm.js';
import { ErrorMessage } from '../components/ErrorMessage.js';
import { orgPath } from '../lib/route-links.js';
import { useOrg } from '../lib/use-org.js';

/** `/` → the first organization's overview, or an empty state offering to create one. */
export function HomePage() {
  const { organizations, isPending, error } = useOrg(undefined);
  if (isPending) return <p className="muted">Loading organizations…</p>;
  if (error) return <ErrorMessage error={error} title="Could not load organizations" />;
  const first = organizations[0];
  if (first) return <Redirect to={orgPath(first.id)} replace />;
  return (
    <section className="empty-state">
      <h1>No organizations yet</h1>
      <p className="muted">Create one to add sites and their firewall agents.</p>
      <CreateOrganizationForm />
    </section>
  );
}
