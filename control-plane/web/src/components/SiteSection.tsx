import { useId } from 'react';
import type { AgentSummary, Site } from '../trpc.js';
import { AgentsTable } from './AgentsTable.js';
import { CreateAgentForm } from './CreateAgentForm.js';

interface SiteSectionProps {
  site: Site;
  agents: readonly AgentSummary[];
  agentsLoaded: boolean;
  selectedAgentId: string | null;
  onSelectAgent: (agentId: string) => void;
}

export function SiteSection({
  site,
  agents,
  agentsLoaded,
  selectedAgentId,
  onSelectAgent,
}: SiteSectionProps) {
  const headingId = useId();
  const online = agents.filter((a) => a.online).length;
  return (
    <section className="card site" aria-labelledby={headingId}>
      <div className="site-header">
        <h3 id={headingId}>{site.name}</h3>
        <span className="muted">
          {online}/{agents.length} online
        </span>
      </div>
      {agents.length > 0 ? (
        <AgentsTable agents={agents} selectedAgentId={selectedAgentId} onSelect={onSelectAgent} />
      ) : agentsLoaded ? (
        <p className="empty">No agents at this site yet.</p>
      ) : null}
      <CreateAgentForm
        siteId={site.id}
        siteName={site.name}
        isEnrolled={(agentId) => agents.some((a) => a.id === agentId && a.enrolled)}
      />
    </section>
  );
}
