/** Stable codes of domain errors; the tRPC layer maps them in one place (trpc/init.ts). */
export type DomainErrorCode =
  | 'not-found'
  | 'forbidden'
  | 'unauthenticated'
  | 'invalid-credentials'
  | 'conflict'
  | 'invalid-input'
  /** Too many attempts (sign-in throttling); the response carries `Retry-After`. */
  | 'rate-limited'
  /** A live query to an agent that is offline: not sent, nobody would answer. */
  | 'agent-offline'
  /** A live query the agent did not answer in time. */
  | 'agent-timeout'
  /** A live query the agent answered with an error or an invalid result. */
  | 'agent-error'
  /** A live query not sent: broker connection down, or too many queries in flight. */
  | 'live-unavailable';

/** A failure the caller can act on, identified by `code` (never by message text). */
export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly code: DomainErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Codes of start-up failures reported by `startControlPlane`. */
export type StartErrorCode =
  | 'MQTT_PORT_IN_USE'
  | 'HTTP_PORT_IN_USE'
  | 'BROKER_UNREACHABLE'
  | 'DATABASE_UNAVAILABLE';

/** Start-up failure with a stable `code` and a message a person can act on. */
export class StartError extends Error {
  override readonly name = 'StartError';
  constructor(
    readonly code: StartErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
