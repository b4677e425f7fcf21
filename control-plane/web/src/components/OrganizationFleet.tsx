import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { type AgentSummary, useTRPC } from '../trpc.js';
import { AgentDetailPanel } from './AgentDetailPanel.js';
import { CreateSiteForm } from './CreateSiteForm.js';
import { ErrorMessage } from './ErrorMessage.js';
import { SiteSection } from './SiteSection.js';

/** How often the agent list is polled, so online/offline and versions update live. */
export const FLEET_POLL_MS = 2_000;

interface OrganizationFleetProps {
  organizationId: string;
}

/** One organization: its sites, each with its agents, and the selected agent's detail panel. */
export function OrganizationFleet({ organizationId }: OrganizationFleetProps) {
  const trpc = useTRPC();
  const sites = useQuery(trpc.sites.list.queryOptions({ organizationId }));
  const agents = useQuery(
    trpc.agents.list.queryOptions({ organizationId }, { refetchInterval: FLEET_POLL_MS }),
  );
  const [selectedAgentId, setSelectedAgentId] = useState<string | null>(null);

  const bySite = new Map<string, AgentSummary[]>();
  for (const agent of agents.data ?? []) {
    const list = bySite.get(agent.siteId) ?? [];
    list.push(agent);
    bySite.set(agent.siteId, list);
  }
  const selected = agents.data?.find((a) => a.id === selectedAgentId) ?? null;

  return (
    <div className={selected ? 'fleet with-panel' : 'fleet'}>
      <div className="fleet-sites">
        <div className="section-bar">
          <h2>Sites</h2>
          <CreateSiteForm organizationId={organizationId} />
        </div>
        <ErrorMessage error={sites.error} title="Could not load sites" />
        <ErrorMessage error={agents.error} title="Could not load agents" />
        {sites.isSuccess && sites.data.length === 0 ? (
          <p className="empty">No sites yet. Add one, then add an agent for its firewall.</p>
        ) : null}
        {sites.data?.map((site) => (
          <SiteSection
            key={site.id}
            site={site}
            agents={bySite.get(site.id) ?? []}
            agentsLoaded={agents.isSuccess}
            selectedAgentId={selectedAgentId}
            onSelectAgent={setSelectedAgentId}
          />
        ))}
      </div>
      {selected ? (
        // Keyed by agent: switching agents starts a fresh panel (and a fresh push form).
        <AgentDetailPanel key={selected.id} agent={selected} onClose={() => setSelectedAgentId(null)} />
      ) : null}
    </div>
  );
}
