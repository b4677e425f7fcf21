import type { Database } from '../db/client.js';
import { getRole } from '../db/queries/organizations.js';
import type { Role } from '../db/schema/index.js';
import { DomainError } from '../errors.js';

/** Each role can do everything the roles below it can. */
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2, owner: 3 };

/**
 * The role an action needs: `'read'` = any member (viewer), `'write'` = admin, or a role by name
 * (`'operator'` for SIP users and pushes, `'owner'` for owner-only changes). The table of which
 * procedure needs which role is in the server README ("Roles").
 */
export type Access = 'read' | 'write' | Role;

/** The lowest role that grants `access`. */
export function neededRole(access: Access): Role {
  if (access === 'read') return 'viewer';
  if (access === 'write') return 'admin';
  return access;
}

/** True when `role` is at least `needed`. */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

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
  const needed = neededRole(params.access);
  if (!roleAtLeast(role, needed)) {
    throw new DomainError('forbidden', `role ${role} cannot do this (needs ${needed})`);
  }
  return role;
}
