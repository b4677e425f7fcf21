import { AgentError } from '../errors.js';

/** Why a send failed; stable so the transaction layer can decide (all map to a synthetic 503, RFC 3261 §8.1.3.1). */
export type TransportErrorReason =
  | 'closed'
  | 'connect-failed'
  | 'connection-limit'
  | 'no-route'
  | 'send-failed'
  | 'unsupported-transport';

/** The only error a {@link Transport}'s `send` rejects with (STYLE §3.7: wrap foreign errors at the boundary). */
export class TransportError extends AgentError {
  override readonly code = 'AGENT_ERR_TRANSPORT' as const;
  readonly reason: TransportErrorReason;

  constructor(reason: TransportErrorReason, message: string, options?: { cause?: unknown }) {
    super('AGENT_ERR_TRANSPORT', message, options);
    this.reason = reason;
  }
}

/** Wraps anything thrown by node's sockets into a {@link TransportError}. */
export function toTransportError(reason: TransportErrorReason, e: unknown): TransportError {
  if (e instanceof TransportError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new TransportError(reason, message, { cause: e });
}
