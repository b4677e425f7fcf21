import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC, useTRPCClient } from '../../trpc.js';
import { QueryState } from './common.js';

/** Actions an operator can filter on (prefixes end with a dot: every action of that kind). */
export const AUDIT_FILTERS: readonly { value: string; label: string }[] = [
  { value: '', label: 'All actions' },
  { value: 'site.', label: 'Sites' },
  { value: 'agent.', label: 'Agents' },
  { value: 'sipUser.', label: 'SIP users' },
  { value: 'organization.', label: 'Organization' },
  { value: 'rollout.', label: 'Rollouts' },
  { value: 'member.', label: 'Members' },
  { value: 'invitation.', label: 'Invitations' },
];

const PAGE = 50;

/** Short text of an audit entry's detail: `before → after` when both are there. */
export function detailText(detail: unknown): string {
  if (detail === null || typeof detail !== 'object') return '';
  const d = detail as { before?: unknown; after?: unknown };
  const text = (v: unknown) => JSON.stringify(v);
  const s =
    'before' in d || 'after' in d
      ? `${d.before === undefined ? '' : text(d.before)} → ${d.after === undefined ? '' : text(d.after)}`
      : text(detail);
  return s.length > 300 ? `${s.slice(0, 297)}...` : s;
}

/** Who did what when, newest first, paged ("Older"), filtered by kind of action. */
export function AuditLogView(props: { organizationId: string }) {
  const trpc = useTRPC();
  const [action, setAction] = useState('');
  const client = useTRPCClient();
  const input = { organizationId: props.organizationId, limit: PAGE, ...(action ? { action } : {}) };
  // `audit.list` pages with `beforeId` (the last id seen), so the pages are driven by hand.
  const pages = useInfiniteQuery({
    queryKey: [...trpc.audit.list.queryKey(input), 'pages'],
    queryFn: ({ pageParam }) =>
      client.audit.list.query(pageParam === undefined ? input : { ...input, beforeId: pageParam }),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (last) => (last.length < PAGE ? undefined : last[last.length - 1]?.id),
  });
  const rows = pages.data?.pages.flat() ?? [];
  return (
    <section className="changes audit" aria-label="Audit log">
      <div className="toolbar">
        <label>
          Show{' '}
          <select value={action} onChange={(e) => setAction(e.target.value)}>
            {AUDIT_FILTERS.map((f) => (
              <option key={f.value} value={f.value}>
                {f.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <QueryState query={pages} what="the audit log" />
      {pages.data && rows.length === 0 ? <p className="empty">Nothing recorded yet.</p> : null}
      {rows.length > 0 ? (
        <table className="fixed audit-table">
          <thead>
            <tr>
              <th className="when">When</th>
              <th className="who">Who</th>
              <th className="what">Action</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr key={e.id} data-testid="audit-row" data-action={e.action}>
                <td className="tabular">{new Date(e.at).toLocaleString()}</td>
                <td>{e.operatorEmail ?? <span className="muted">system</span>}</td>
                <td>
                  <code>{e.action}</code>
                </td>
                <td className="mono detail" title={JSON.stringify(e.detail)}>
                  {detailText(e.detail)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {pages.hasNextPage ? (
        <button type="button" disabled={pages.isFetchingNextPage} onClick={() => void pages.fetchNextPage()}>
          {pages.isFetchingNextPage ? 'Loading…' : 'Older'}
        </button>
      ) : null}
    </section>
  );
}
