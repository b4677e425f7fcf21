import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { ConfigStatus, Presence } from '../components/AgentState.js';
import { ConfigVersionList } from '../components/ConfigVersionList.js';
import { ErrorMessage } from '../components/ErrorMessage.js';
import { formatDateTime, formatVersion } from '../lib/format.js';
import { orgPath, sitePath } from '../lib/route-links.js';
import { useNow } from '../lib/use-now.js';
import { useTRPC } from '../trpc.js';
import { AgentActions } from '../views/changes/index.js';
import { OrgGate } from './OrgGate.js';

const AGENT_POLL_MS = 5_000;

/** `/orgs/:orgId/agents/:agentId` — one agent: state, versions, config history, actions. */
export function AgentPage({ orgId, agentId }: { orgId: string; agentId: string }) {
  return (
    <OrgGate orgId={orgId}>
      {({ organization, role }) => (
        <section className="page">
          <Agent orgId={orgId} orgName={organization.name} agentId={agentId} />
          <h2>Actions</h2>
          <AgentActions organizationId={orgId} agentId={agentId} role={role} />
        </section>
      )}
    </OrgGate>
  );
}

function Agent({ orgId, orgName, agentId }: { orgId: string; orgName: string; agentId: string }) {
  const trpc = useTRPC();
  const now = useNow(5_000);
  const detail = useQuery(trpc.agents.get.queryOptions({ agentId }, { refetchInterval: AGENT_POLL_MS }));
  if (detail.isPending) return <p className="muted">Loading the agent…</p>;
  if (detail.isError) return <ErrorMessage error={detail.error} title="Could not load the agent" />;
  const agent = detail.data;
  return (
    <>
      <p className="breadcrumb">
        <Link href={orgPath(orgId)}>{orgName}</Link> ›{' '}
        <Link href={sitePath(orgId, agent.siteId)}>{agent.siteName}</Link> ›
      </p>
      <div className="page-header">
        <h1>{agent.name}</h1>
        <span data-testid="agent-presence">
          <Presence agent={agent} now={now} />
        </span>
      </div>
      <dl className="facts">
        <dt>Agent id</dt>
        <dd className="mono">{agent.id}</dd>
        <dt>Config</dt>
        <dd>
          <ConfigStatus agent={agent} />
        </dd>
        <dt>Applied version</dt>
        <dd>{formatVersion(agent.appliedVersion)}</dd>
        <dt>Desired version</dt>
        <dd>{formatVersion(agent.desiredVersion)}</dd>
        <dt>Agent software</dt>
        <dd className="mono">{agent.agentVersion ?? '—'}</dd>
        <dt>Added</dt>
        <dd>{formatDateTime(agent.createdAt)}</dd>
      </dl>
      <ConfigVersionList versions={agent.configVersions} appliedVersion={agent.appliedVersion} />
    </>
  );
}
