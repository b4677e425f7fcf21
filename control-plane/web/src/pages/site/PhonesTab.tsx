import { useQuery } from '@tanstack/react-query';
import { formatAgo, formatDateTime } from '../../lib/format.js';
import { useNow } from '../../lib/use-now.js';
import { type AgentSummary, useTRPC } from '../../trpc.js';
import { LiveError } from './LiveError.js';
import { SITE_POLL_MS, useSiteAgents } from './use-site-agents.js';

/** Registered phones, asked live of each of the site's agents. */
export function PhonesTab({ orgId, siteId }: { orgId: string; siteId: string }) {
  const { agents, query } = useSiteAgents(orgId, siteId);
  if (query.isPending) return <p className="muted">Loading…</p>;
  if (agents.length === 0) return <p className="empty">No agents at this site, so no phones.</p>;
  return (
    <>
      {agents.map((a) => (
        <AgentPhones key={a.id} agent={a} showName={agents.length > 1} />
      ))}
    </>
  );
}

function AgentPhones({ agent, showName }: { agent: AgentSummary; showName: boolean }) {
  const trpc = useTRPC();
  const now = useNow(5_000);
  const regs = useQuery(
    trpc.live.registrations.queryOptions(
      { agentId: agent.id, limit: 500 },
      { enabled: agent.online, refetchInterval: SITE_POLL_MS, retry: false },
    ),
  );
  const rows = regs.data?.rows ?? [];
  return (
    <section aria-label={`Phones at ${agent.name}`}>
      {showName ? <h2>{agent.name}</h2> : null}
      {!agent.online ? <p className="muted">{agent.name} is offline: no live data.</p> : null}
      <LiveError error={regs.error} agentName={agent.name} />
      {agent.online && regs.isPending ? <p className="muted">Asking {agent.name}…</p> : null}
      {regs.isSuccess && rows.length === 0 ? <p className="empty">No phone is registered.</p> : null}
      {rows.length > 0 ? (
        <table className="data fixed" data-testid={`phones-${agent.id}`}>
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Contact</th>
              <th scope="col">Source</th>
              <th scope="col">Transport</th>
              <th scope="col">Expires</th>
              <th scope="col">Phone</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={`${r.aor}|${r.contact}`}>
                <td className="mono">{r.aor}</td>
                <td className="mono small ellipsis" title={r.contact}>
                  {r.contact}
                </td>
                <td className="mono">{r.source}</td>
                <td>{r.transport.toUpperCase()}</td>
                <td title={formatDateTime(r.expiresAt)}>{expiresIn(r.expiresAt, now)}</td>
                <td className="small ellipsis">{r.userAgent ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {regs.data && regs.data.total > rows.length ? (
        <p className="muted small">
          Showing {rows.length} of {regs.data.total}.
        </p>
      ) : null}
    </section>
  );
}

function expiresIn(at: string, now: number): string {
  const seconds = Math.round((Date.parse(at) - now) / 1000);
  if (Number.isNaN(seconds)) return '—';
  if (seconds <= 0) return `expired ${formatAgo(at, now)}`;
  return seconds < 120 ? `in ${seconds} s` : `in ${Math.round(seconds / 60)} min`;
}
