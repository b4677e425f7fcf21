import { useQuery } from '@tanstack/react-query';
import { ErrorMessage } from '../../components/ErrorMessage.js';
import { formatDateTime } from '../../lib/format.js';
import { useTRPC } from '../../trpc.js';
import { SITE_POLL_MS } from './use-site-agents.js';

/** The site's recent security events (failed authentications, blocked sources …). */
export function SecurityTab({ siteId }: { siteId: string }) {
  const trpc = useTRPC();
  const events = useQuery(
    trpc.stats.recentSecurityEvents.queryOptions(
      { target: { scope: 'site', siteId }, limit: 100 },
      { refetchInterval: SITE_POLL_MS },
    ),
  );
  const rows = events.data ?? [];
  return (
    <>
      <ErrorMessage error={events.error} title="Could not load security events" />
      {events.isPending ? <p className="muted">Loading security events…</p> : null}
      {events.isSuccess && rows.length === 0 ? <p className="empty">No security events.</p> : null}
      {rows.length > 0 ? (
        <table className="data fixed">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Event</th>
              <th scope="col">Source</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr key={e.id}>
                <td className="small">{formatDateTime(e.at)}</td>
                <td>{e.event}</td>
                <td className="mono">{e.source}</td>
                <td className="small">{e.detail}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}
