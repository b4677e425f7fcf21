import type { Database } from '../client.js';
import { auditLog } from '../schema/index.js';

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
