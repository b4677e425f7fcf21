import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { ErrorMessage } from '../../components/ErrorMessage.js';
import { ROLES, type Role, roleAtLeast } from '../../lib/roles.js';
import { invitationPath } from '../../lib/route-links.js';
import { useTRPC } from '../../trpc.js';
import { ConfirmButton, Field, FormError, OneTimeSecret, QueryState } from './common.js';

/** Operators of the organization and their roles; invitations (admins; owners to touch owners). */
export function MembersView(props: { organizationId: string; role: Role }) {
  const { organizationId, role } = props;
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const me = useQuery(trpc.auth.me.queryOptions());
  const members = useQuery(trpc.members.list.queryOptions({ organizationId }));
  const canManage = roleAtLeast(role, 'admin');
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.members.list.queryKey() });
  const setRole = useMutation(trpc.members.setRole.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(trpc.members.remove.mutationOptions({ onSuccess: refresh }));
  // Only owners may grant or take the owner role.
  const assignable = ROLES.filter((r) => r !== 'owner' || role === 'owner');
  return (
    <section className="changes members" aria-label="Members">
      <QueryState query={members} what="members" />
      {members.data ? (
        <table className="fixed">
          <thead>
            <tr>
              <th>Operator</th>
              <th className="narrow">Role</th>
              <th className="actions-col" />
            </tr>
          </thead>
          <tbody>
            {members.data.map((m) => {
              const self = m.operatorId === me.data?.id;
              const editable = canManage && !self && (m.role !== 'owner' || role === 'owner');
              return (
                <tr key={m.operatorId} data-testid="member-row">
                  <td>
                    {m.name ? `${m.name} ` : ''}
                    <span className="muted">{m.email}</span>
                    {self ? <span className="hint"> (you)</span> : null}
                  </td>
                  <td>
                    {editable ? (
                      <select
                        aria-label={`Role of ${m.email}`}
                        value={m.role}
                        disabled={setRole.isPending}
                        onChange={(e) =>
                          setRole.mutate({
                            organizationId,
                            memberId: m.operatorId,
                            role: e.target.value as Role,
                          })
                        }
                      >
                        {assignable.map((r) => (
                          <option key={r} value={r}>
                            {r}
                          </option>
                        ))}
                      </select>
                    ) : (
                      m.role
                    )}
                  </td>
                  <td>
                    {editable ? (
                      <ConfirmButton
                        label="Remove"
                        question={`Remove ${m.email} from this organization?`}
                        danger
                        pending={remove.isPending}
                        onConfirm={() => remove.mutate({ organizationId, memberId: m.operatorId })}
                      />
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      <ErrorMessage error={setRole.error ?? remove.error} title="Not changed" />
      {canManage ? <Invitations organizationId={organizationId} assignable={assignable} /> : null}
    </section>
  );
}

function Invitations(props: { organizationId: string; assignable: readonly Role[] }) {
  const { organizationId } = props;
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useQuery(trpc.invitations.list.queryOptions({ organizationId }));
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.invitations.list.queryKey() });
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('operator');
  const [link, setLink] = useState<{ email: string; url: string } | null>(null);
  const create = useMutation(
    trpc.invitations.create.mutationOptions({
      onSuccess: async (inv) => {
        setLink({ email: inv.email, url: `${window.location.origin}${invitationPath(inv.token)}` });
        setEmail('');
        await refresh();
      },
    }),
  );
  const revoke = useMutation(trpc.invitations.revoke.mutationOptions({ onSuccess: refresh }));
  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setLink(null);
    create.mutate({ organizationId, email: email.trim(), role });
  }
  return (
    <section aria-labelledby="invitations-h">
      <h3 id="invitations-h">Invitations</h3>
      <form className="inline-form" onSubmit={onSubmit} aria-label="Invite an operator">
        <Field label="Email" path="email" error={create.error}>
          {(id) => (
            <input id={id} type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
          )}
        </Field>
        <Field label="Role" path="role" error={create.error}>
          {(id) => (
            <select id={id} value={role} onChange={(e) => setRole(e.target.value as Role)}>
              {props.assignable.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          )}
        </Field>
        <button type="submit" className="primary" disabled={create.isPending}>
          Invite
        </button>
        <FormError error={create.error} fields={['email', 'role']} title="Not invited" />
      </form>
      {link ? (
        <OneTimeSecret
          label={`Invitation link for ${link.email}`}
          value={link.url}
          onDone={() => setLink(null)}
          note="Send it to them; they sign in with that email and accept."
        />
      ) : null}
      <QueryState query={list} what="invitations" />
      {list.data && list.data.length === 0 ? <p className="empty">No open invitations.</p> : null}
      {list.data && list.data.length > 0 ? (
        <table className="fixed">
          <thead>
            <tr>
              <th>Email</th>
              <th className="narrow">Role</th>
              <th className="when">Expires</th>
              <th className="actions-col" />
            </tr>
          </thead>
          <tbody>
            {list.data.map((i) => (
              <tr key={i.id} data-testid="invitation-row">
                <td>{i.email}</td>
                <td>{i.role}</td>
                <td className="tabular">{new Date(i.expiresAt).toLocaleString()}</td>
                <td>
                  <ConfirmButton
                    label="Revoke"
                    question={`Revoke the invitation of ${i.email}?`}
                    danger
                    pending={revoke.isPending}
                    onConfirm={() => revoke.mutate({ invitationId: i.id })}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <ErrorMessage error={revoke.error} title="Not revoked" />
    </section>
  );
}
