import { useMutation, useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link, useLocation } from 'wouter';
import { ErrorMessage } from '../../components/ErrorMessage.js';
import { type Role, roleAtLeast } from '../../lib/roles.js';
import { sipUserPath, sitePath } from '../../lib/route-links.js';
import { useTRPC } from '../../trpc.js';
import { ConfirmButton, Field, FormError, OneTimeSecret, QueryState } from './common.js';

/** The domains a site serves: its own, else its organization's (what a new user's domain defaults to). */
function useSiteDomains(siteId: string): string[] {
  const trpc = useTRPC();
  const config = useQuery(trpc.sites.getConfig.queryOptions({ siteId }));
  return config.data?.site.config.domains ?? config.data?.organization.config.domains ?? [];
}

/** Invalidates what a SIP user change shows elsewhere (lists, agents' versions). */
function useRefreshUsers(siteId: string) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.sipUsers.list.queryKey({ siteId }) }),
      queryClient.invalidateQueries({ queryKey: trpc.agents.list.queryKey() }),
    ]);
}

/** The site's SIP users: search, add (generated password shown once), open one. */
export function SipUsersPanel(props: { organizationId: string; siteId: string; role: Role }) {
  const { organizationId, siteId, role } = props;
  const trpc = useTRPC();
  const users = useQuery(trpc.sipUsers.list.queryOptions({ siteId }));
  const [search, setSearch] = useState('');
  const canEdit = roleAtLeast(role, 'operator');
  const needle = search.trim().toLowerCase();
  const shown = (users.data ?? []).filter(
    (u) =>
      needle === '' ||
      u.username.toLowerCase().includes(needle) ||
      u.displayName.toLowerCase().includes(needle) ||
      u.domain.includes(needle),
  );
  return (
    <section className="changes sip-users" aria-labelledby="sip-users-h">
      <h2 id="sip-users-h">SIP users</h2>
      {canEdit ? <AddSipUserForm siteId={siteId} organizationId={organizationId} /> : null}
      <div className="toolbar">
        <label>
          Search{' '}
          <input
            type="search"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            placeholder="username, name or domain"
          />
        </label>
        <span className="muted tabular">{users.data ? `${shown.length} of ${users.data.length}` : ''}</span>
      </div>
      <QueryState query={users} what="SIP users" />
      {users.data && users.data.length === 0 ? <p className="empty">No SIP users on this site yet.</p> : null}
      {shown.length > 0 ? (
        <table className="fixed">
          <thead>
            <tr>
              <th>User</th>
              <th>Display name</th>
              <th className="narrow">State</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((u) => (
              <tr key={u.id} data-testid="sip-user-row">
                <td>
                  <Link href={sipUserPath(organizationId, siteId, u.id)}>
                    {u.username}@{u.domain}
                  </Link>
                </td>
                <td>{u.displayName || <span className="muted">—</span>}</td>
                <td>{u.enabled ? 'enabled' : <span className="badge-off">disabled</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

function AddSipUserForm({ siteId }: { siteId: string; organizationId: string }) {
  const trpc = useTRPC();
  const domains = useSiteDomains(siteId);
  const refresh = useRefreshUsers(siteId);
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [domain, setDomain] = useState('');
  const [secret, setSecret] = useState<{ who: string; password: string } | null>(null);
  const create = useMutation(
    trpc.sipUsers.create.mutationOptions({
      onSuccess: async (r) => {
        if (r.generatedPassword)
          setSecret({ who: `${r.user.username}@${r.user.domain}`, password: r.generatedPassword });
        setUsername('');
        setDisplayName('');
        await refresh();
      },
    }),
  );
  const chosenDomain = domain || domains[0] || '';
  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setSecret(null);
    create.mutate({
      siteId,
      username: username.trim(),
      domain: chosenDomain.trim().toLowerCase(),
      displayName,
      password: { generate: true },
    });
  }
  return (
    <form className="inline-form" onSubmit={onSubmit} aria-label="Add a SIP user">
      <Field label="Username" path="username" error={create.error}>
        {(id) => <input id={id} required value={username} onChange={(e) => setUsername(e.target.value)} />}
      </Field>
      <Field label="Display name" path="displayName" error={create.error}>
        {(id) => <input id={id} value={displayName} onChange={(e) => setDisplayName(e.target.value)} />}
      </Field>
      <Field label="Domain" path="domain" error={create.error}>
        {(id) => (
          <input
            id={id}
            required
            list="sip-user-domains"
            value={chosenDomain}
            onChange={(e) => setDomain(e.target.value)}
            placeholder="sip.example.com"
          />
        )}
      </Field>
      <datalist id="sip-user-domains">
        {domains.map((d) => (
          <option key={d} value={d} />
        ))}
      </datalist>
      <button type="submit" className="primary" disabled={create.isPending}>
        {create.isPending ? 'Adding…' : 'Add user'}
      </button>
      <FormError error={create.error} fields={['username', 'displayName', 'domain']} title="Could not add" />
      {secret ? (
        <OneTimeSecret
          label={`Password of ${secret.who}`}
          value={secret.password}
          onDone={() => setSecret(null)}
          note="The control plane stores only its digest (HA1)."
        />
      ) : null}
    </form>
  );
}

/** One SIP user: state, registrations on the site's agents, enable/disable, reset password, delete. */
export function SipUserDetail(props: { organizationId: string; siteId: string; userId: string; role: Role }) {
  const { organizationId, siteId, userId, role } = props;
  const trpc = useTRPC();
  const users = useQuery(trpc.sipUsers.list.queryOptions({ siteId }));
  const refresh = useRefreshUsers(siteId);
  const [, navigate] = useLocation();
  const [secret, setSecret] = useState<string | null>(null);
  const canEdit = roleAtLeast(role, 'operator');
  const update = useMutation(trpc.sipUsers.update.mutationOptions({ onSuccess: () => refresh() }));
  const reset = useMutation(
    trpc.sipUsers.resetPassword.mutationOptions({
      onSuccess: async (r) => {
        setSecret(r.generatedPassword);
        await refresh();
      },
    }),
  );
  const remove = useMutation(
    trpc.sipUsers.delete.mutationOptions({
      onSuccess: async () => {
        await refresh();
        navigate(sitePath(organizationId, siteId, 'users'));
      },
    }),
  );
  if (users.isPending || users.error) return <QueryState query={users} what="the SIP user" />;
  const user = users.data.find((u) => u.id === userId);
  if (!user) return <p className="empty">No such SIP user on this site (it may have been deleted).</p>;
  const who = `${user.username}@${user.domain}`;
  return (
    <section className="changes sip-user" aria-labelledby="sip-user-h">
      <h2 id="sip-user-h">{who}</h2>
      <dl className="facts">
        <dt>Display name</dt>
        <dd>{user.displayName || '—'}</dd>
        <dt>State</dt>
        <dd data-testid="sip-user-state">{user.enabled ? 'enabled' : 'disabled'}</dd>
        <dt>Digest algorithms</dt>
        <dd>{user.algorithms ? user.algorithms.join(', ') : "the site's default"}</dd>
      </dl>
      {canEdit ? (
        <div className="actions">
          <button
            type="button"
            disabled={update.isPending}
            onClick={() => update.mutate({ userId, enabled: !user.enabled })}
          >
            {user.enabled ? 'Disable' : 'Enable'}
          </button>
          <button
            type="button"
            disabled={reset.isPending}
            onClick={() => reset.mutate({ userId, password: { generate: true } })}
          >
            Reset password
          </button>
          <ConfirmButton
            label="Delete"
            question={`Delete SIP user “${who}”? Its phones stop registering.`}
            danger
            pending={remove.isPending}
            onConfirm={() => remove.mutate({ userId })}
          />
        </div>
      ) : null}
      <ErrorMessage error={update.error ?? reset.error ?? remove.error} title="Failed" />
      {secret ? (
        <OneTimeSecret label={`New password of ${who}`} value={secret} onDone={() => setSecret(null)} />
      ) : null}
      <UserRegistrations
        organizationId={organizationId}
        siteId={siteId}
        aorUser={user.username}
        domain={user.domain}
      />
    </section>
  );
}

/** The user's current registrations, asked live from each online agent of the site. */
function UserRegistrations(props: {
  organizationId: string;
  siteId: string;
  aorUser: string;
  domain: string;
}) {
  const trpc = useTRPC();
  const agents = useQuery(trpc.agents.list.queryOptions({ organizationId: props.organizationId }));
  const siteAgents = (agents.data ?? []).filter((a) => a.siteId === props.siteId && a.online);
  const pages = useQueries({
    queries: siteAgents.map((a) => ({
      ...trpc.live.registrations.queryOptions({ agentId: a.id, limit: 500 }),
      refetchInterval: 5_000,
    })),
  });
  const aor = `sip:${props.aorUser}@${props.domain}`;
  const rows = pages.flatMap((p, i) =>
    (p.data?.rows ?? [])
      .filter((r) => r.aor === aor || r.aor === `${props.aorUser}@${props.domain}`)
      .map((r) => ({ ...r, agent: siteAgents[i]?.name ?? '' })),
  );
  return (
    <section aria-labelledby="regs-h">
      <h3 id="regs-h">Registrations</h3>
      {agents.isPending ? <p className="muted">Loading…</p> : null}
      {agents.data && siteAgents.length === 0 ? (
        <p className="empty">No agent of this site is online; registrations cannot be read.</p>
      ) : null}
      {pages.map((p, i) => (p.error ? <ErrorMessage key={siteAgents[i]?.id} error={p.error} /> : null))}
      {siteAgents.length > 0 && rows.length === 0 && pages.every((p) => !p.isPending) ? (
        <p className="empty" data-testid="no-registrations">
          Not registered.
        </p>
      ) : null}
      {rows.length > 0 ? (
        <table className="fixed" data-testid="user-registrations">
          <thead>
            <tr>
              <th>Contact</th>
              <th>From</th>
              <th>Agent</th>
              <th className="narrow">Expires</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={`${r.agent}-${r.contact}`}>
                <td className="mono">{r.contact}</td>
                <td className="mono">{r.source}</td>
                <td>{r.agent}</td>
                <td className="tabular">{new Date(r.expiresAt).toLocaleTimeString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
