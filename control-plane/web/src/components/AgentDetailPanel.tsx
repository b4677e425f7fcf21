import { useQuery } from '@tanstack/react-query';
import { useId } from 'react';
import { formatAgo, formatDateTime, formatVersion } from '../lib/format.js';
import { useNow } from '../lib/use-now.js';
import { type AgentSummary, useTRPC } from '../trpc.js';
import { ConfigVersionList } from './ConfigVersionList.js';
import { ErrorMessage } from './ErrorMessage.js';
import { PushConfigForm } from './PushConfigForm.js';
import { ReportedStatus } from './ReportedStatus.js';
import { StatusBadge } from './StatusBadge.js';
import { FLEET_POLL_MS } from './OrganizationFleet.js';

interface AgentDetailPanelProps {
  /** The row from the (polled) fleet list; shown at once while the detail query loads. */
  agent: AgentSummary;
  onClose: () => void;
}

export function AgentDetailPanel({ agent, onClose }: AgentDetailPanelProps) {
  const trpc = useTRPC();
  const titleId = useId();
  const now = useNow(1_000);
  const detail = useQuery(
    trpc.agents.get.queryOptions({ agentId: agent.id }, { refetchInterval: FLEET_POLL_MS }),
  );
  const versions = detail.data?.configVersions ?? [];

  return (
    <aside className="card panel" aria-labelledby={titleId} data-testid="agent-detail">
      <div className="panel-header">
        <h2 id={titleId}>{agent.name}</h2>
        <button type="button" className="close" onClick={onClose} aria-label="Close agent details">
          ×
        </button>
      </div>
      <dl className="facts">
        <dt>Status</dt>
        <dd>
          <StatusBadge online={agent.online} />
        </dd>
        <dt>Agent id</dt>
        <dd className="mono">{agent.id}</dd>
        <dt>Site</dt>
        <dd>{agent.siteName}</dd>
        <dt>Enrolled</dt>
        <dd>{agent.enrolled ? 'yes' : 'not yet (waiting for the enrollment token)'}</dd>
        <dt>Agent version</dt>
        <dd>{agent.agentVersion ?? '—'}</dd>
        <dt>Last seen</dt>
        <dd title={formatDateTime(agent.lastSeenAt)}>{formatAgo(agent.lastSeenAt, now)}</dd>
        <dt>Applied config</dt>
        <dd>{formatVersion(agent.appliedVersion)}</dd>
        <dt>Desired config</dt>
        <dd>{formatVersion(agent.desiredVersion)}</dd>
        <dt>Reported</dt>
        <dd>
          <ReportedStatus status={agent.reportedStatus} errors={agent.errors} />
        </dd>
      </dl>
      {detail.isPending ? (
        <p className="muted">Loading config history…</p>
      ) : (
        // Mounted once the history is known, so the form starts from the latest pushed values.
        <PushConfigForm siteId={agent.siteId} agentId={agent.id} appliedVersion={agent.appliedVersion} />
      )}
      <ErrorMessage error={detail.error} title="Could not load the agent's config history" />
      <ConfigVersionList versions={versions} appliedVersion={agent.appliedVersion} />
    </aside>
  );
}
