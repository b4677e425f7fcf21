import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useLocation } from 'wouter';
import { ErrorMessage } from '../../components/ErrorMessage.js';
import { type Role, roleAtLeast } from '../../lib/roles.js';
import { orgPath, sitePath } from '../../lib/route-links.js';
import { useTRPC } from '../../trpc.js';
import { ConfirmButton, FieldIssues, OneTimeSecret } from './common.js';

/** Rename and delete a site (admins). */
export function SiteActions(props: { organizationId: string; siteId: string; role: Role }) {
  const { organizationId, siteId, role } = props;
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [, navigate] = useLocation();
  const sites = useQuery(trpc.sites.list.queryOptions({ organizationId }));
  const site = sites.data?.find((s) => s.id === siteId);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.sites.list.queryKey() });
  const rename = useMutation(trpc.sites.rename.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(
    trpc.sites.delete.mutationOptions({
      onSuccess: async () => {
        await Promise.all([
          refresh(),
          queryClient.invalidateQueries({ queryKey: trpc.agents.list.queryKey() }),
        ]);
        navigate(orgPath(organizationId));
      },
    }),
  );
  if (!roleAtLeast(role, 'admin') || !site) return null;
  return (
    <section className="changes entity-actions" aria-label="Site actions">
      <RenameForm
        current={site.name}
        what="site"
        pending={rename.isPending}
        error={rename.error}
        onRename={(name) => rename.mutate({ siteId, name })}
      />
      <ConfirmButton
        label="Delete site"
        question={`Delete site “${site.name}” with its agents (revoked), SIP users and overrides?`}
        danger
        pending={remove.isPending}
        onConfirm={() => remove.mutate({ siteId })}
      />
      <ErrorMessage error={remove.error} title="Not deleted" />
    </section>
  );
}

/** Rename, re-issue the enrollment token (shown once), revoke, decommission (delete) an agent. */
export function AgentActions(props: { organizationId: string; agentId: string; role: Role }) {
  const { organizationId, agentId, role } = props;
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [, navigate] = useLocation();
  const agent = useQuery(trpc.agents.get.queryOptions({ agentId }));
  const [token, setToken] = useState<string | null>(null);
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.agents.get.queryKey({ agentId }) }),
      queryClient.invalidateQueries({ queryKey: trpc.agents.list.queryKey() }),
    ]);
  const rename = useMutation(trpc.agents.rename.mutationOptions({ onSuccess: refresh }));
  const revoke = useMutation(trpc.agents.revoke.mutationOptions({ onSuccess: refresh }));
  const reissue = useMutation(
    trpc.agents.reissueEnrollment.mutationOptions({
      onSuccess: async (r) => {
        setToken(r.enrollmentToken);
        await refresh();
      },
    }),
  );
  const remove = useMutation(
    trpc.agents.delete.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries({ queryKey: trpc.agents.list.queryKey() });
        navigate(a ? sitePath(organizationId, a.siteId) : orgPath(organizationId));
      },
    }),
  );
  const a = agent.data;
  if (!roleAtLeast(role, 'admin') || !a) return null;
  return (
    <section className="changes entity-actions" aria-label="Agent actions">
      <RenameForm
        current={a.name}
        what="agent"
        pending={rename.isPending}
        error={rename.error}
        onRename={(name) => rename.mutate({ agentId, name })}
      />
      <ConfirmButton
        label="Re-issue enrollment token"
        question={`Re-issue the token of “${a.name}”? Its current credentials stop working until it enrolls again.`}
        pending={reissue.isPending}
        onConfirm={() => reissue.mutate({ agentId })}
      />
      <ConfirmButton
        label="Revoke"
        question={`Revoke agent “${a.name}”? It is disconnected now and must enroll again.`}
        danger
        pending={revoke.isPending}
        onConfirm={() => revoke.mutate({ agentId })}
      />
      <ConfirmButton
        label="Decommission"
        question={`Decommission (delete) agent “${a.name}” of site “${a.siteName}”?`}
        danger
        pending={remove.isPending}
        onConfirm={() => remove.mutate({ agentId })}
      />
      <ErrorMessage error={revoke.error ?? reissue.error ?? remove.error} title="Failed" />
      {revoke.isSuccess ? (
        <p className="success" role="status">
          Revoked; re-issue a token to enroll it again.
        </p>
      ) : null}
      {token ? (
        <OneTimeSecret
          label={`Enrollment token of ${a.name}`}
          value={token}
          onDone={() => setToken(null)}
          note="Valid for 24 hours, once."
        />
      ) : null}
    </section>
  );
}

function RenameForm(props: {
  current: string;
  what: 'site' | 'agent';
  pending: boolean;
  error: unknown;
  onRename: (name: string) => void;
}) {
  const [name, setName] = useState(props.current);
  const [open, setOpen] = useState(false);
  const inputId = `rename-${props.what}`;
  if (!open)
    return (
      <button
        type="button"
        onClick={() => {
          setName(props.current);
          setOpen(true);
        }}
      >
        Rename {props.what}
      </button>
    );
  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    props.onRename(name);
  }
  return (
    <form className="inline-form" onSubmit={onSubmit}>
      <label htmlFor={inputId}>New {props.what} name</label>
      <input id={inputId} value={name} required onChange={(e) => setName(e.target.value)} />
      <button type="submit" className="primary" disabled={props.pending}>
        Save
      </button>
      <button type="button" onClick={() => setOpen(false)}>
        Close
      </button>
      <FieldIssues error={props.error} path="name" />
      {props.error && !(props.error as { data?: { issues?: unknown } }).data?.issues ? (
        <ErrorMessage error={props.error} />
      ) : null}
    </form>
  );
}
