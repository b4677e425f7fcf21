import { useQuery } from '@tanstack/react-query';
import { Link, useSearch } from 'wouter';
import { ErrorMessage } from '../components/ErrorMessage.js';
import { formatCount, formatDateTime, formatDuration } from '../lib/format.js';
import { agentPath, sitePath } from '../lib/route-links.js';
import { useTRPC } from '../trpc.js';
import { CallLadder } from '../views/ladder/index.js';
import { OrgGate } from './OrgGate.js';

/** `/orgs/:orgId/calls/:callId?agent=:agentId` — one call: its record or live state, and its SIP ladder. */
export function CallPage({ orgId, callId }: { orgId: string; callId: string }) {
  const agentId = new URLSearchParams(useSearch()).get('agent');
  return (
    <OrgGate orgId={orgId}>
      {() => (
        <section className="page">
          <div className="page-header">
            <h1>Call</h1>
            <span className="mono small ellipsis" title={callId}>
              {callId}
            </span>
          </div>
          {agentId ? (
            <>
              <CallFacts orgId={orgId} agentId={agentId} callId={callId} />
              <h2>SIP ladder</h2>
              <CallLadder organizationId={orgId} agentId={agentId} callId={callId} />
            </>
          ) : (
            <p className="empty">This link names no agent (?agent=…), so the call cannot be looked up.</p>
          )}
        </section>
      )}
    </OrgGate>
  );
}

function CallFacts({ orgId, agentId, callId }: { orgId: string; agentId: string; callId: string }) {
  const trpc = useTRPC();
  const agent = useQuery(trpc.agents.get.queryOptions({ agentId }));
  const siteId = agent.data?.siteId;
  const records = useQuery({
    ...trpc.stats.recentCalls.queryOptions({ siteId: siteId ?? '', limit: 500 }),
    enabled: siteId !== undefined,
  });
  const live = useQuery({
    ...trpc.live.calls.queryOptions({ agentId, limit: 500 }, { refetchInterval: 2_000, retry: false }),
    enabled: agent.data?.online === true,
  });
  const record = records.data?.rows.find((r) => r.callId === callId && r.agentId === agentId);
  const active = live.data?.rows.find((c) => c.callId === callId);

  if (agent.isPending) return <p className="muted">Loading…</p>;
  if (agent.isError) return <ErrorMessage error={agent.error} title="Could not load the call's agent" />;
  return (
    <>
      <p className="breadcrumb">
        <Link href={sitePath(orgId, agent.data.siteId, 'calls')}>Calls of {agent.data.siteName}</Link> · agent{' '}
        <Link href={agentPath(orgId, agentId)}>{agent.data.name}</Link>
      </p>
      {active ? (
        <dl className="facts" data-testid="call-live">
          <dt>State</dt>
          <dd>{active.state === 'confirmed' ? 'active (talking)' : 'active (ringing)'}</dd>
          <dt>From</dt>
          <dd className="mono">{active.from}</dd>
          <dt>To</dt>
          <dd className="mono">{active.to}</dd>
          <dt>Started</dt>
          <dd>{formatDateTime(active.startedAt)}</dd>
          <dt>Streams</dt>
          <dd>
            {active.streams.length === 0
              ? 'media not anchored'
              : active.streams
                  .map(
                    (s) =>
                      `${s.media}: ${formatCount(s.aToB?.packets ?? 0)} a→b, ${formatCount(s.bToA?.packets ?? 0)} b→a${s.quality?.oneWay ? ' (one-way)' : ''}`,
                  )
                  .join('; ')}
          </dd>
        </dl>
      ) : null}
      {record ? (
        <dl className="facts" data-testid="call-record">
          <dt>Result</dt>
          <dd>
            {record.disposition} ({record.status}){record.endReason ? `, ${record.endReason}` : ''}
          </dd>
          <dt>SIP codes</dt>
          <dd className="mono">{record.codes.join(' ') || record.status}</dd>
          <dt>From</dt>
          <dd className="mono">{record.from}</dd>
          <dt>To</dt>
          <dd className="mono">{record.to}</dd>
          <dt>Direction</dt>
          <dd>{record.direction}</dd>
          <dt>Started</dt>
          <dd>{formatDateTime(record.startedAt)}</dd>
          <dt>Answered</dt>
          <dd>{record.answeredAt ? formatDateTime(record.answeredAt) : 'no'}</dd>
          <dt>Ended</dt>
          <dd>{formatDateTime(record.endedAt)}</dd>
          <dt>Duration</dt>
          <dd>{formatDuration(record.durationSec)}</dd>
          <dt>Packets in / out</dt>
          <dd>
            {formatCount(record.packetsIn)} / {formatCount(record.packetsOut)}
          </dd>
          <dt>Media quality</dt>
          <dd>
            {record.oneWay ? 'one-way media' : record.mos !== null ? `MOS ${record.mos.toFixed(1)}` : '—'}
          </dd>
        </dl>
      ) : null}
      {!active && !record && !records.isPending && !(live.isPending && live.fetchStatus !== 'idle') ? (
        <p className="empty">No active call or recent record with this Call-ID at this agent.</p>
      ) : null}
    </>
  );
}
