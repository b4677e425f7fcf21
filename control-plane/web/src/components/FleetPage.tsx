import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '../trpc.js';
import { CreateOrganizationForm } from './CreateOrganizationForm.js';
import { ErrorMessage } from './ErrorMessage.js';
import { OrganizationFleet } from './OrganizationFleet.js';
import { OrganizationPicker } from './OrganizationPicker.js';

/** The fleet: pick an organization, then see its sites and their agents. */
export function FleetPage() {
  const trpc = useTRPC();
  const organizations = useQuery(trpc.organizations.list.queryOptions());
  const [chosenId, setChosenId] = useState<string | null>(null);

  const list = organizations.data ?? [];
  // Fall back to the first organization until the operator picks one (or if the pick went away).
  const organizationId = list.some((o) => o.id === chosenId) ? chosenId : (list[0]?.id ?? null);

  return (
    <div className="fleet-page">
      <section className="toolbar" aria-label="Organizations">
        {list.length > 0 && organizationId ? (
          <OrganizationPicker organizations={list} value={organizationId} onChange={setChosenId} />
        ) : null}
        <CreateOrganizationForm onCreated={setChosenId} />
      </section>
      <ErrorMessage error={organizations.error} title="Could not load organizations" />
      {organizations.isPending ? <p className="muted">Loading organizations…</p> : null}
      {organizations.isSuccess && list.length === 0 ? (
        <p className="empty">No organizations yet. Create one to add sites and agents.</p>
      ) : null}
      {organizationId ? <OrganizationFleet key={organizationId} organizationId={organizationId} /> : null}
    </div>
  );
}
