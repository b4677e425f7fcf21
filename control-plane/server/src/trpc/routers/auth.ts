import { z } from 'zod';
import { findOperatorByEmail } from '../../db/queries/operators.js';
import { createSession, deleteSession } from '../../db/queries/sessions.js';
import { DomainError } from '../../errors.js';
import { DUMMY_HASH, verifySecret } from '../../security/password.js';
import { hashToken, randomToken } from '../../security/tokens.js';
import { type Context, SESSION_COOKIE } from '../context.js';
import { authedProcedure, publicProcedure, router } from '../init.js';

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
  if (ctx.secureCookies) parts.push('Secure');
  return parts.join('; ');
}

export const authRouter = router({
  signIn: publicProcedure
    .input(z.object({ email: z.email().max(320), password: z.string().min(1).max(1024) }))
    .mutation(async ({ ctx, input }) => {
      const op = await findOperatorByEmail(ctx.db, { email: input.email });
      const valid = await verifySecret(input.password, op?.passwordHash ?? DUMMY_HASH);
      if (!op || !valid) throw new DomainError('invalid-credentials', 'wrong email or password');
      const token = randomToken();
      const expiresAt = new Date(ctx.clock().getTime() + SESSION_TTL_MS);
      await createSession(ctx.db, { tokenHash: hashToken(token), operatorId: op.id, expiresAt });
      ctx.resHeaders.append('set-cookie', sessionCookie(ctx, token, Math.floor(SESSION_TTL_MS / 1000)));
      return { operator: { id: op.id, email: op.email, name: op.name } };
    }),
  signOut: authedProcedure.mutation(async ({ ctx }) => {
    if (ctx.sessionTokenHash) await deleteSession(ctx.db, { tokenHash: ctx.sessionTokenHash });
    ctx.resHeaders.append('set-cookie', sessionCookie(ctx, '', 0));
    return { ok: true as const };
  }),
  me: publicProcedure.query(({ ctx }) => ctx.operator),
});
