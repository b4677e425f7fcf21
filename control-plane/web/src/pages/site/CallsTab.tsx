import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { ErrorMessage } from '../../components/ErrorMessage.js';
import { formatCount, formatDateTime, formatDuration } from '../../lib/format.js';
import { callPath } from '../../lib/route-links.js';
import { useNow } from '../../lib/use-now.js';
import { type AgentSummary, type LiveCall, useTRPC } from '../../trpc.js';
import { LiveError } from './LiveError.js';
import { SITE_POLL_MS, useSiteAgents } from './use-site-agents.js';

/** Live counters refresh faster than the rest of the site page. */
const LIVE_CALLS_POLL_MS = 2_000;

/** Active calls (asked live of each agent) and the site's recent call records. */
export function CallsTab({ orgId, siteId }: { orgId: string; siteId: string }) {
  const { agents, query } = useSiteAgents(orgId, siteId);
  return (
    <>
      <h2>Active calls</h2>
      {query.isPending ? <p className="muted">Loading…</p> : null}
      {query.isSuccess && agents.length === 0 ? <p className="empty">No agents at this site.</p> : null}
      {agents.map((a) => (
        <AgentCalls key={a.id} orgId={orgId} agent={a} showName={agents.length > 1} />
      ))}
      <h2>Recent calls</h2>
      <RecentCalls orgId={orgId} siteId={siteId} />
    </>
  );
}

function AgentCalls({ orgId, agent, showName }: { orgId: string; agent: AgentSummary; showName: boolean }) {
  const trpc = useTRPC();
  const now = useNow(1_000);
  const calls = useQuery(
    trpc.live.calls.queryOptions(
      { agentId: agent.id, limit: 200 },
      { enabled: agent.online, refetchInterval: LIVE_CALLS_POLL_MS, retry: false },
    ),
  );
  const rows = calls.data?.rows ?? [];
  return (
    <section aria-label={`Active calls at ${agent.name}`}>
      {showName ? <h3>{agent.name}</h3> : null}
      {!agent.online ? <p className="muted">{agent.name} is offline: no live data.</p> : null}
      <LiveError error={calls.error} agentName={agent.name} />
      {agent.online && calls.isPending ? <p className="muted">Asking {agent.name}…</p> : null}
      {calls.isSuccess && rows.length === 0 ? <p className="empty">No active call.</p> : null}
      {rows.length > 0 ? (
        <table className="data fixed live-calls" data-testid={`live-calls-${agent.id}`}>
          <thead>
            <tr>
              <th scope="col">From → to</th>
              <th scope="col">State</th>
              <th scope="col" className="num">
                Duration
              </th>
              <th scope="col" className="num">
                Streams
              </th>
              <th scope="col" className="num">
                Packets a→b
              </th>
              <th scope="col" className="num">
                Packets b→a
              </th>
              <th scope="col">Quality</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((c) => (
              <LiveCallRow key={c.callId} orgId={orgId} agentId={agent.id} call={c} now={now} />
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

function LiveCallRow({
  orgId,
  agentId,
  call,
  now,
}: {
  orgId: string;
  agentId: string;
  call: LiveCall;
  now: number;
}) {
  const since = Date.parse(call.answeredAt ?? call.startedAt);
  let aToB = 0;
  let bToA = 0;
  let oneWay = false;
  const quality: string[] = [];
  for (const s of call.streams) {
    aToB += s.aToB?.packets ?? 0;
    bToA += s.bToA?.packets ?? 0;
    if (s.quality?.oneWay) oneWay = true;
    const loss = Math.max(s.quality?.aToB.lossPercent ?? 0, s.quality?.bToA.lossPercent ?? 0);
    if (loss > 0) quality.push(`loss ${loss.toFixed(1)} %`);
    const mos = Math.min(s.quality?.aToB.mos ?? 5, s.quality?.bToA.mos ?? 5);
    if (s.quality && mos < 5) quality.push(`MOS ${mos.toFixed(1)}`);
  }
  return (
    <tr data-testid={`live-call-${call.callId}`}>
      <td className="ellipsis">
        <Link href={callPath(orgId, call.callId, agentId)} title={`${call.from} → ${call.to}`}>
          {call.from} → {call.to}
        </Link>
      </td>
      <td>{call.state === 'confirmed' ? 'talking' : 'ringing'}</td>
      <td className="num">{formatDuration((now - since) / 1000)}</td>
      <td className="num">{call.streams.length}</td>
      <td className="num" data-testid="packets-a-b">
        {call.streams.length > 0 ? formatCount(aToB) : '—'}
      </td>
      <td className="num" data-testid="packets-b-a">
        {call.streams.length > 0 ? formatCount(bToA) : '—'}
      </td>
      <td className={oneWay ? 'warn' : undefined}>
        {oneWay
          ? 'one-way media'
          : quality.length > 0
            ? quality.join(', ')
            : call.streams.length > 0
              ? 'good'
              : '—'}
      </td>
    </tr>
  );
}

function RecentCalls({ orgId, siteId }: { orgId: string; siteId: string }) {
  const trpc = useTRPC();
  const records = useQuery(
    trpc.stats.recentCalls.queryOptions({ siteId, limit: 50 }, { refetchInterval: SITE_POLL_MS }),
  );
  const rows = records.data?.rows ?? [];
  return (
    <>
      <ErrorMessage error={records.error} title="Could not load recent calls" />
      {records.isPending ? <p className="muted">Loading recent calls…</p> : null}
      {records.isSuccess && rows.length === 0 ? <p className="empty">No call records yet.</p> : null}
      {rows.length > 0 ? (
        <table className="data fixed recent-calls" data-testid="recent-calls">
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">From → to</th>
              <th scope="col">Result</th>
              <th scope="col">SIP codes</th>
              <th scope="col" className="num">
                Duration
              </th>
              <th scope="col">Media</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id}>
                <td className="small">{formatDateTime(r.startedAt)}</td>
                <td className="ellipsis">
                  <Link href={callPath(orgId, r.callId, r.agentId)} title={`${r.from} → ${r.to}`}>
                    {r.from} → {r.to}
                  </Link>
                </td>
                <td>
                  {r.disposition}
                  {r.endReason ? <span className="muted small"> ({r.endReason})</span> : null}
                </td>
                <td className="mono">{r.codes.length > 0 ? r.codes.join(' ') : r.status}</td>
                <td className="num">{formatDuration(r.durationSec)}</td>
                <td className={r.oneWay ? 'warn' : undefined}>
                  {r.oneWay ? 'one-way' : r.mos !== null ? `MOS ${r.mos.toFixed(1)}` : '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}
