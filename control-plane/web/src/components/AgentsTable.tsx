import { Link } from 'wouter';
import { agentPath } from '../lib/route-links.js';
import { useNow } from '../lib/use-now.js';
import type { AgentSummary } from '../trpc.js';
import { ConfigStatus, Presence } from './AgentState.js';

/** A site's agents: presence, config state, version; each name links to the agent page. */
export function AgentsTable({ orgId, agents }: { orgId: string; agents: readonly AgentSummary[] }) {
  const now = useNow(5_000);
  return (
    <table className="data fixed agents">
      <thead>
        <tr>
          <th scope="col">Agent</th>
          <th scope="col">Status</th>
          <th scope="col">Config</th>
          <th scope="col">Agent version</th>
        </tr>
      </thead>
      <tbody>
        {agents.map((agent) => (
          <tr key={agent.id}>
            <th scope="row">
              <Link href={agentPath(orgId, agent.id)}>{agent.name}</Link>
              <div className="mono muted small">{agent.id}</div>
            </th>
            <td data-testid={`agent-status-${agent.id}`}>
              <Presence agent={agent} now={now} />
            </td>
            <td data-testid={`agent-version-${agent.id}`}>
              <ConfigStatus agent={agent} />
            </td>
            <td className="mono small">{agent.agentVersion ?? '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
