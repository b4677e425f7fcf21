import type { Database } from '../db/client.js';
import { getRole } from '../db/queries/organizations.js';
import type { Role } from '../db/schema/index.js';
import { DomainError } from '../errors.js';

const RANK: Record<Role, number> = { viewer: 0, admin: 1, owner: 2 };

/** Which role an action needs: reading needs membership, mutating needs admin or owner. */
export type Access = 'read' | 'write';

/**
 * Checks the operator's membership of the organization. A non-member gets `not-found` (tenants
 * never learn what exists elsewhere); a member with too low a role gets `forbidden`.
 */
export async function requireAccess(
  db: Database,
  params: { operatorId: string; organizationId: string; access: Access; what?: string },
): Promise<Role> {
  const role = await getRole(db, params);
  if (role === null) throw new DomainError('not-found', `${params.what ?? 'organization'} not found`);
  if (params.access === 'write' && RANK[role] < RANK.admin) {
    throw new DomainError('forbidden', `role ${role} cannot change this organization`);
  }
  return role;
}
