import type { Database } from '../db/client.js';
import { countOperators, createOperator } from '../db/queries/operators.js';
import { hashSecret } from '../security/password.js';
import { randomToken } from '../security/tokens.js';

/** Result of the first-start bootstrap: the admin's password when it was generated here. */
export type BootstrapResult =
  | { created: false }
  | { created: true; email: string; password: string; generated: boolean };

/** Creates the first operator when none exists yet. */
export async function ensureAdmin(
  db: Database,
  params: { email: string; password?: string | undefined },
): Promise<BootstrapResult> {
  if ((await countOperators(db)) > 0) return { created: false };
  const password = params.password ?? randomToken(15);
  await createOperator(db, {
    email: params.email,
    name: 'Administrator',
    passwordHash: await hashSecret(password),
  });
  return {
    created: true,
    email: params.email.toLowerCase(),
    password,
    generated: params.password === undefined,
  };
}
