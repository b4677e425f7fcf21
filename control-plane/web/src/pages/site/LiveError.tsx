import { isTRPCClientError } from '@trpc/client';
import { ErrorMessage } from '../../components/ErrorMessage.js';

/** A live view's error: an offline agent is a plain note, anything else an alert. */
export function LiveError({ error, agentName }: { error: unknown; agentName: string }) {
  if (error === null || error === undefined) return null;
  if (isTRPCClientError(error) && error.data?.code === 'PRECONDITION_FAILED') {
    return <p className="muted">{agentName} is offline: no live data.</p>;
  }
  return <ErrorMessage error={error} title={`${agentName} did not answer`} />;
}
