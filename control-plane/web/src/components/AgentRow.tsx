import { formatAgo, formatDateTime } from '../lib/format.js';
import type { AgentSummary } from '../trpc.js';
import { ReportedStatus } from './ReportedStatus.js';
import { StatusBadge } from './StatusBadge.js';
import { VersionPair } from './VersionPair.js';

interface AgentRowProps {
  agent: AgentSummary;
  now: number;
  selected: boolean;
  onSelect: (agentId: string) => void;
}

export function AgentRow({ agent, now, selected, onSelect }: AgentRowProps) {
  return (
    <tr className={selected ? 'selected' : undefined}>
      <th scope="row">
        <button type="button" className="link" onClick={() => onSelect(agent.id)} aria-pressed={selected}>
          {agent.name}
        </button>
        <div className="mono muted small">{agent.id}</div>
      </th>
      <td data-testid={`agent-status-${agent.id}`}>
        <StatusBadge online={agent.online} />
      </td>
      <td data-testid={`agent-version-${agent.id}`}>
        <VersionPair applied={agent.appliedVersion} desired={agent.desiredVersion} />
      </td>
      <td title={formatDateTime(agent.lastSeenAt)}>{formatAgo(agent.lastSeenAt, now)}</td>
      <td>
        <ReportedStatus status={agent.reportedStatus} errors={agent.errors} />
      </td>
    </tr>
  );
}
