import { z } from 'zod';
import { appendAudit, listSecurityEvents, SECURITY_ACTIONS } from '../../db/queries/audit.js';
import { findOperatorByEmail } from '../../db/queries/operators.js';
import { createSession, deleteSession } from '../../db/queries/sessions.js';
import { DomainError } from '../../errors.js';
import { DUMMY_HASH, verifySecret } from '../../security/password.js';
import { sourceKey } from '../../security/sign-in-throttle.js';
import { hashToken, randomToken } from '../../security/tokens.js';
import { type Context, SESSION_COOKIE } from '../context.js';
import { authedProcedure, publicProcedure, router } from '../init.js';
import { toWire } from '../wire.js';
import { EmailSchema, PasswordSchema } from './inputs.js';

/** Sessions last this long. */
export const SESSION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

function sessionCookie(ctx: Context, value: string, maxAgeSec: number): string {
  const parts = [
    `${SESSION_COOKIE}=${encodeURIComponent(value)}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${maxAgeSec}`,
  ];
  // Forced by SIPWALL_SECURE_COOKIES, or because the browser came over HTTPS (trusted proxy / public URL).
  if (ctx.secureCookies || ctx.request.secure) parts.push('Secure');
  return parts.join('; ');
}

/** Keeps the longest `Retry-After` of a batch (each refused call of a batch sets its own). */
function raiseRetryAfter(headers: Headers, seconds: number): void {
  const current = Number(headers.get('retry-after') ?? 0);
  if (seconds > current) headers.set('retry-after', String(seconds));
}

/** A failed or refused sign-in: logged (never the password) and stored as a security event. */
async function recordSignInProblem(
  ctx: Context,
  event: { action: string; email: string; operatorId: string | null; detail: Record<string, unknown> },
): Promise<void> {
  const fields = { event: event.action, email: event.email, ip: ctx.request.ip, ...event.detail };
  ctx.logger.warn(
    fields,
    event.action === SECURITY_ACTIONS.signInFailed ? 'sign-in failed' : 'sign-in throttled',
  );
  await appendAudit(ctx.db, {
    organizationId: null,
    operatorId: event.operatorId,
    action: event.action,
    target: event.email,
    detail: { ip: ctx.request.ip, ...event.detail },
  }).catch((e: unknown) => ctx.logger.error({ err: e }, 'cannot store security event'));
}

export const authRouter = router({
  signIn: publicProcedure
    .input(z.object({ email: EmailSchema, password: PasswordSchema }))
    .mutation(async ({ ctx, input }) => {
      const email = input.email.toLowerCase();
      // Counted before the (slow) check, synchronously: every call of a batch takes its own slot.
      const decision = ctx.signInThrottle.begin(sourceKey(ctx.request.ip), email);
      if (!decision.allowed) {
        raiseRetryAfter(ctx.resHeaders, decision.retryAfterSec);
        if (decision.firstRefusal)
          await recordSignInProblem(ctx, {
            action: SECURITY_ACTIONS.signInThrottled,
            email,
            operatorId: null,
            detail: { scope: decision.scope, retryAfterSec: decision.retryAfterSec },
          });
        throw new DomainError(
          'rate-limited',
          `too many failed sign-ins; retry in ${decision.retryAfterSec} s`,
        );
      }
      const { attempt } = decision;
      let op: Awaited<ReturnType<typeof findOperatorByEmail>>;
      let valid: boolean;
      try {
        op = await findOperatorByEmail(ctx.db, { email });
        valid = await verifySecret(input.password, op?.passwordHash ?? DUMMY_HASH);
      } catch (e) {
        attempt.failed();
        throw e;
      }
      if (!op || !valid) {
        attempt.failed();
        await recordSignInProblem(ctx, {
          action: SECURITY_ACTIONS.signInFailed,
          email,
          operatorId: op?.id ?? null,
          detail: { reason: op ? 'wrong-password' : 'unknown-account' },
        });
        throw new DomainError('invalid-credentials', 'wrong email or password');
      }
      attempt.succeeded();
      const token = randomToken();
      const expiresAt = new Date(ctx.clock().getTime() + SESSION_TTL_MS);
      await createSession(ctx.db, { tokenHash: hashToken(token), operatorId: op.id, expiresAt });
      ctx.resHeaders.append('set-cookie', sessionCookie(ctx, token, Math.floor(SESSION_TTL_MS / 1000)));
      ctx.logger.info({ event: 'sign-in', operatorId: op.id, ip: ctx.request.ip }, 'signed in');
      return { operator: { id: op.id, email: op.email, name: op.name } };
    }),
  signOut: authedProcedure.mutation(async ({ ctx }) => {
    if (ctx.sessionTokenHash) await deleteSession(ctx.db, { tokenHash: ctx.sessionTokenHash });
    ctx.resHeaders.append('set-cookie', sessionCookie(ctx, '', 0));
    return { ok: true as const };
  }),
  me: publicProcedure.query(({ ctx }) => ctx.operator),
  /** Failed and throttled sign-ins against the signed-in operator's own account, newest first. */
  securityEvents: authedProcedure.query(async ({ ctx }) =>
    toWire(await listSecurityEvents(ctx.db, { email: ctx.operator.email, limit: 100 })),
  ),
});
