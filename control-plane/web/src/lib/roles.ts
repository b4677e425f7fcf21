/**
 * An operator's role in one organization (viewer < operator < admin < owner). The server's
 * `domain/access.ts` and its README "Roles" table are the truth: SIP users and pushes need
 * operator, config and sites/agents need admin, members need admin (owner to touch owners).
 * The dashboard only hides controls a role cannot use; the server refuses anyway.
 */
export type Role = 'viewer' | 'operator' | 'admin' | 'owner';

export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin', 'owner'];

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2, owner: 3 };

/** True when `role` can do what `needed` can. */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

/** Narrows a string from the API (e.g. `organizations.list`'s `role`) to a `Role`. */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && value in RANK;
}
