import { initTRPC, TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import { DomainError, type DomainErrorCode } from '../errors.js';
import type { Context } from './context.js';
import { errorIdOf } from './error-id.js';
import { inputErrorMessage, inputIssues } from './input-issues.js';

type TrpcCode = TRPCError['code'];

/** The one table from domain error codes to tRPC codes. */
const DOMAIN_TO_TRPC: Record<DomainErrorCode, TrpcCode> = {
  'not-found': 'NOT_FOUND',
  forbidden: 'FORBIDDEN',
  unauthenticated: 'UNAUTHORIZED',
  'invalid-credentials': 'UNAUTHORIZED',
  conflict: 'CONFLICT',
  'invalid-input': 'BAD_REQUEST',
  'rate-limited': 'TOO_MANY_REQUESTS',
  'agent-offline': 'PRECONDITION_FAILED',
  'agent-timeout': 'GATEWAY_TIMEOUT',
  'agent-error': 'BAD_GATEWAY',
  'live-unavailable': 'SERVICE_UNAVAILABLE',
};

/** What a client sees of an internal error: never database text, parameters or stacks. */
export const INTERNAL_ERROR_MESSAGE = 'internal error';

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error, input }) {
    const cause = error.cause;
    // Unexpected failures (a database error, a bug) keep their text server-side: the client gets a
    // generic message and an id that app.ts logs with the full error.
    const internal = error.code === 'INTERNAL_SERVER_ERROR';
    const errorId = internal ? errorIdOf(error) : null;
    // Input errors name the field and the bad value (`config.domains[2] "exa mple.com": …`), not zod's JSON.
    const zodIssues = cause instanceof ZodError ? inputIssues(cause, input) : null;
    return {
      ...shape,
      message: internal
        ? `${INTERNAL_ERROR_MESSAGE} (id ${errorId})`
        : zodIssues
          ? inputErrorMessage(zodIssues)
          : shape.message,
      data: {
        ...shape.data,
        // Zod input errors flattened to `{path, message}`; clients match on `path`.
        issues: zodIssues ?? (cause instanceof DomainError ? cause.issues : null),
        domainCode: cause instanceof DomainError ? cause.code : null,
        errorId,
        // Never ship stack traces.
        stack: undefined,
      },
    };
  },
});

/** Maps `DomainError`s thrown by procedures to tRPC errors, in one place. */
const mapDomainErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof DomainError) {
    const cause = result.error.cause;
    throw new TRPCError({ code: DOMAIN_TO_TRPC[cause.code], message: cause.message, cause });
  }
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Anyone may call. */
export const publicProcedure = t.procedure.use(mapDomainErrors);

/** Needs a signed-in operator; narrows `ctx.operator`. */
export const authedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.operator) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'sign in first' });
  return next({ ctx: { ...ctx, operator: ctx.operator } });
});
