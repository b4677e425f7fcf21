import { useNow } from '../lib/use-now.js';
import type { AgentSummary } from '../trpc.js';
import { AgentRow } from './AgentRow.js';

interface AgentsTableProps {
  agents: readonly AgentSummary[];
  selectedAgentId: string | null;
  onSelect: (agentId: string) => void;
}

export function AgentsTable({ agents, selectedAgentId, onSelect }: AgentsTableProps) {
  const now = useNow(1_000);
  return (
    <table className="agents">
      <thead>
        <tr>
          <th scope="col">Agent</th>
          <th scope="col">Status</th>
          <th scope="col">Config (applied / desired)</th>
          <th scope="col">Last seen</th>
          <th scope="col">Reported</th>
        </tr>
      </thead>
      <tbody>
        {agents.map((agent) => (
          <AgentRow
            key={agent.id}
            agent={agent}
            now={now}
            selected={agent.id === selectedAgentId}
            onSelect={onSelect}
          />
        ))}
      </tbody>
    </table>
  );
}
