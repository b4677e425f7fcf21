import { AgentActions } from '../views/changes/index.js';
import { OrgGate } from './OrgGate.js';

/** `/orgs/:orgId/agents/:agentId` — one agent. */
export function AgentPage({ orgId, agentId }: { orgId: string; agentId: string }) {
  return (
    <OrgGate orgId={orgId}>
      {({ role }) => (
        <section className="page">
          <h1>Agent {agentId}</h1>
          <AgentActions organizationId={orgId} agentId={agentId} role={role} />
        </section>
      )}
    </OrgGate>
  );
}
