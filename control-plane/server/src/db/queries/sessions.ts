import { and, eq, gt } from 'drizzle-orm';
import type { Database } from '../client.js';
import { operators, sessions } from '../schema/index.js';
import type { OperatorView } from './operators.js';

export async function createSession(
  db: Database,
  params: { tokenHash: string; operatorId: string; expiresAt: Date },
): Promise<void> {
  await db.insert(sessions).values(params);
}

/** The operator behind a live session, or null when unknown or expired. */
export async function findSessionOperator(
  db: Database,
  params: { tokenHash: string; now: Date },
): Promise<OperatorView | null> {
  const [row] = await db
    .select({ id: operators.id, email: operators.email, name: operators.name })
    .from(sessions)
    .innerJoin(operators, eq(operators.id, sessions.operatorId))
    .where(and(eq(sessions.tokenHash, params.tokenHash), gt(sessions.expiresAt, params.now)));
  return row ?? null;
}

export async function deleteSession(db: Database, params: { tokenHash: string }): Promise<void> {
  await db.delete(sessions).where(eq(sessions.tokenHash, params.tokenHash));
}
