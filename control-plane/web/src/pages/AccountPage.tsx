import { useQuery } from '@tanstack/react-query';
import { ErrorMessage } from '../components/ErrorMessage.js';
import { formatDateTime } from '../lib/format.js';
import { type Operator, useTRPC } from '../trpc.js';

/** `/account` — the signed-in operator and the failed or throttled sign-ins against their account. */
export function AccountPage({ operator }: { operator: Operator }) {
  const trpc = useTRPC();
  const events = useQuery(trpc.auth.securityEvents.queryOptions());
  const rows = events.data ?? [];
  return (
    <section className="page">
      <h1>Account</h1>
      <dl className="facts">
        <dt>Name</dt>
        <dd>{operator.name}</dd>
        <dt>Email</dt>
        <dd>{operator.email}</dd>
      </dl>
      <h2>Security events of your account</h2>
      <ErrorMessage error={events.error} title="Could not load your security events" />
      {events.isPending ? <p className="muted">Loading…</p> : null}
      {events.isSuccess && rows.length === 0 ? (
        <p className="empty">No failed or throttled sign-ins against your account.</p>
      ) : null}
      {rows.length > 0 ? (
        <table className="data fixed">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((e, i) => (
              // Newest first and never reordered while shown: the position is a stable key.
              // biome-ignore lint/suspicious/noArrayIndexKey: rows have no id
              <tr key={`${e.at}-${i}`}>
                <td className="small">{formatDateTime(e.at)}</td>
                <td>{e.action}</td>
                <td className="small ellipsis">{describeDetail(e.detail)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

/** `{ ip: "127.0.0.1", reason: "wrong password" }` → `ip 127.0.0.1, reason wrong password`. */
function describeDetail(detail: unknown): string {
  if (detail === null || detail === undefined) return '';
  if (typeof detail !== 'object') return String(detail);
  return Object.entries(detail as Record<string, unknown>)
    .map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}
