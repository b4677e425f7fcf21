import { and, desc, eq, inArray, like, lt } from 'drizzle-orm';
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
  params: {
    organizationId: string;
    limit: number;
    beforeId?: number | undefined;
    /** Only this action (`site.rename`), or every action of this prefix when it ends in `.` (`site.`). */
    action?: string | undefined;
  },
) {
  const where = and(
    eq(auditLog.organizationId, params.organizationId),
    params.beforeId === undefined ? undefined : lt(auditLog.id, params.beforeId),
    params.action === undefined
      ? undefined
      : params.action.endsWith('.')
        ? // The router admits only letters and dots, so no LIKE wildcard can come in.
          like(auditLog.action, `${params.action}%`)
        : eq(auditLog.action, params.action),
  );
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
