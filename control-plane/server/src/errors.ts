import type { FieldIssue } from '@sipwall/shared';

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

/**
 * A failure the caller can act on, identified by `code` (never by message text). `issues` name the
 * fields at fault (a `conflict` on `name`, an `invalid-input` on `config.registrar.minExpiresSec`);
 * clients get them in `data.issues` like zod input errors.
 */
export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly issues: FieldIssue[] | null = null,
  ) {
    super(message);
  }
}

/** Postgres `unique_violation` (23505), whichever driver wrapped it; `constraint` narrows to one. */
export function isUniqueViolation(e: unknown, constraint?: string): boolean {
  for (let cur: unknown = e, depth = 0; cur && depth < 4; depth++) {
    const c = cur as { code?: unknown; constraint?: unknown };
    if (c.code === '23505') return constraint === undefined || c.constraint === constraint;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}

/** Runs `fn`; a unique violation of `constraint` becomes a `conflict` naming `field`. */
export async function uniqueOr<T>(
  fn: () => Promise<T>,
  conflict: { constraint: string; field: string; message: string },
): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isUniqueViolation(e, conflict.constraint))
      throw new DomainError('conflict', conflict.message, [
        { path: conflict.field, message: conflict.message },
      ]);
    throw e;
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
