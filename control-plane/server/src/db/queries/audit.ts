import { and, desc, eq, inArray, lt } from 'drizzle-orm';
import type { Database } from '../client.js';
import { auditLog, operators } from '../schema/index.js';

/** Audit actions that are security events (target: the account's email, lowercased). */
export const SECURITY_ACTIONS = {
  signInFailed: 'auth.sign-in-failed',
  signInThrottled: 'auth.sign-in-throttled',
} as const;

/** Appends one audit entry. */
export async function appendAudit(
  db: Database,
  params: {
    organizationId: string | null;
    operatorId: string | null;
    action: string;
    target: string;
    detail?: Record<string, unknown>;
  },
): Promise<void> {
  await db.insert(auditLog).values({ ...params, detail: params.detail ?? {} });
}

/** Security events about one account (by email), newest first. */
export async function listSecurityEvents(db: Database, params: { email: string; limit: number }) {
  return db
    .select({ action: auditLog.action, detail: auditLog.detail, at: auditLog.at })
    .from(auditLog)
    .where(
      and(
        eq(auditLog.target, params.email.toLowerCase()),
        inArray(auditLog.action, Object.values(SECURITY_ACTIONS)),
      ),
    )
    .orderBy(desc(auditLog.at), desc(auditLog.id))
    .limit(params.limit);
}

/** An organization's audit entries, newest first; `beforeId` pages further back. */
export async function listAudit(
  db: Database,
  params: { organizationId: string; limit: number; beforeId?: number | undefined },
) {
  const where =
    params.beforeId === undefined
      ? eq(auditLog.organizationId, params.organizationId)
      : and(eq(auditLog.organizationId, params.organizationId), lt(auditLog.id, params.beforeId));
  return db
    .select({
      id: auditLog.id,
      operatorId: auditLog.operatorId,
      operatorEmail: operators.email,
      action: auditLog.action,
      target: auditLog.target,
      detail: auditLog.detail,
      at: auditLog.at,
    })
    .from(auditLog)
    .leftJoin(operators, eq(operators.id, auditLog.operatorId))
    .where(where)
    .orderBy(desc(auditLog.id))
    .limit(params.limit);
}
