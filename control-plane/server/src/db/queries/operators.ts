import { count, eq } from 'drizzle-orm';
import type { Database } from '../client.js';
import { operators } from '../schema/index.js';

/** What the API shows of an operator (never the hash). */
export interface OperatorView {
  id: string;
  email: string;
  name: string;
}

export async function findOperatorByEmail(db: Database, params: { email: string }) {
  const [row] = await db.select().from(operators).where(eq(operators.email, params.email.toLowerCase()));
  return row ?? null;
}

export async function createOperator(
  db: Database,
  params: { email: string; name: string; passwordHash: string },
): Promise<OperatorView> {
  const [row] = await db
    .insert(operators)
    .values({ email: params.email.toLowerCase(), name: params.name, passwordHash: params.passwordHash })
    .returning({ id: operators.id, email: operators.email, name: operators.name });
  return row!;
}

export async function countOperators(db: Database): Promise<number> {
  const [row] = await db.select({ n: count() }).from(operators);
  return row?.n ?? 0;
}
