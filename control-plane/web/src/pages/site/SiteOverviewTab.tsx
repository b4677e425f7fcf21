import { AgentsTable } from '../../components/AgentsTable.js';
import { CreateAgentForm } from '../../components/CreateAgentForm.js';
import { ErrorMessage } from '../../components/ErrorMessage.js';
import { type Role, roleAtLeast } from '../../lib/roles.js';
import { useSiteAgents } from './use-site-agents.js';

/** The site's agents and their state; admins add agents here (the enrollment token is shown once). */
export function SiteOverviewTab(props: { orgId: string; siteId: string; siteName: string; role: Role }) {
  const { agents, query } = useSiteAgents(props.orgId, props.siteId);
  return (
    <>
      <div className="section-bar">
        <h2>Agents</h2>
      </div>
      <ErrorMessage error={query.error} title="Could not load the agents" />
      {query.isPending ? <p className="muted">Loading agents…</p> : null}
      {query.isSuccess && agents.length === 0 ? (
        <p className="empty">
          No agents at this site yet{roleAtLeast(props.role, 'admin') ? ': add one below.' : '.'}
        </p>
      ) : null}
      {agents.length > 0 ? <AgentsTable orgId={props.orgId} agents={agents} /> : null}
      {roleAtLeast(props.role, 'admin') ? (
        <CreateAgentForm
          siteId={props.siteId}
          siteName={props.siteName}
          isEnrolled={(agentId) => agents.some((a) => a.id === agentId && a.enrolled)}
        />
      ) : null}
    </>
  );
}
