import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from 'wouter';
import { ErrorMessage } from '../components/ErrorMessage.js';
import { homePath, orgPath } from '../lib/route-links.js';
import { type Operator, useTRPC } from '../trpc.js';

/** `/invitations/:token` — the signed-in invitee accepts (their email must be the invited one). */
export function InvitationPage({ token, operator }: { token: string; operator: Operator }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const accept = useMutation(
    trpc.invitations.accept.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.organizations.list.queryKey() }),
    }),
  );
  return (
    <section className="page narrow">
      <h1>Invitation</h1>
      {accept.isSuccess ? (
        <p role="status">
          Invitation accepted.{' '}
          <Link href={accept.data ? orgPath(accept.data.organizationId) : homePath()}>
            Open the organization
          </Link>
        </p>
      ) : (
        <>
          <p>
            You were invited to join an organization. Accepting adds <strong>{operator.email}</strong> to it
            with the role the invitation names.
          </p>
          <ErrorMessage error={accept.error} title="Could not accept the invitation" />
          <button
            type="button"
            className="primary"
            disabled={accept.isPending}
            onClick={() => accept.mutate({ token })}
          >
            {accept.isPending ? 'Accepting…' : 'Accept invitation'}
          </button>
        </>
      )}
    </section>
  );
}
