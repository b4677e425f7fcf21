import type { Database } from '../db/client.js';
import { appendAudit } from '../db/queries/audit.js';
import {
  consumeInvitation,
  countOwners,
  deleteInvitation,
  findInvitationByToken,
  getInvitation,
  insertInvitation,
  listMembers,
  removeMember,
  setMemberRole,
} from '../db/queries/members.js';
import { addMembership, getRole } from '../db/queries/organizations.js';
import type { Role } from '../db/schema/index.js';
import { DomainError } from '../errors.js';
import { hashToken, randomToken } from '../security/tokens.js';
import { requireAccess } from './access.js';
import type { Clock } from './ports.js';

/** Invitations are valid this long. */
export const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * Admins manage members and invitations; only an owner may grant, change or take the owner role.
 * The last owner can be neither demoted nor removed.
 */
async function requireManager(
  db: Database,
  params: { operatorId: string; organizationId: string; touches: Role[] },
): Promise<Role> {
  const needed = params.touches.includes('owner') ? 'owner' : 'admin';
  return requireAccess(db, {
    operatorId: params.operatorId,
    organizationId: params.organizationId,
    access: needed,
  });
}

async function memberRole(db: Database, params: { organizationId: string; memberId: string }): Promise<Role> {
  const role = await getRole(db, { operatorId: params.memberId, organizationId: params.organizationId });
  if (role === null) throw new DomainError('not-found', 'member not found');
  return role;
}

async function keepAnOwner(db: Database, organizationId: string, current: Role): Promise<void> {
  if (current === 'owner' && (await countOwners(db, { organizationId })) <= 1)
    throw new DomainError('conflict', 'an organization keeps at least one owner', [
      { path: 'operatorId', message: 'the last owner cannot be demoted or removed' },
    ]);
}

export async function listMembersFor(db: Database, params: { operatorId: string; organizationId: string }) {
  await requireAccess(db, { ...params, access: 'read' });
  return listMembers(db, params);
}

export async function setMemberRoleFor(
  db: Database,
  params: { operatorId: string; organizationId: string; memberId: string; role: Role },
) {
  await requireAccess(db, { ...params, access: 'admin' });
  const current = await memberRole(db, params);
  await requireManager(db, { ...params, touches: [current, params.role] });
  if (params.role !== 'owner') await keepAnOwner(db, params.organizationId, current);
  await setMemberRole(db, {
    organizationId: params.organizationId,
    operatorId: params.memberId,
    role: params.role,
  });
  await appendAudit(db, {
    organizationId: params.organizationId,
    operatorId: params.operatorId,
    action: 'member.setRole',
    target: params.memberId,
    detail: { before: { role: current }, after: { role: params.role } },
  });
  return { operatorId: params.memberId, role: params.role };
}

export async function removeMemberFor(
  db: Database,
  params: { operatorId: string; organizationId: string; memberId: string },
) {
  await requireAccess(db, { ...params, access: 'admin' });
  const current = await memberRole(db, params);
  await requireManager(db, { ...params, touches: [current] });
  await keepAnOwner(db, params.organizationId, current);
  await removeMember(db, { organizationId: params.organizationId, operatorId: params.memberId });
  await appendAudit(db, {
    organizationId: params.organizationId,
    operatorId: params.operatorId,
    action: 'member.remove',
    target: params.memberId,
    detail: { before: { role: current } },
  });
  return { ok: true as const };
}

/** Creates an invitation; the one-time token is in the response only (send it to the invitee). */
export async function inviteFor(
  db: Database,
  clock: Clock,
  params: { operatorId: string; organizationId: string; email: string; role: Role },
) {
  await requireManager(db, { ...params, touches: [params.role] });
  const token = randomToken();
  const expiresAt = new Date(clock().getTime() + INVITATION_TTL_MS);
  const email = params.email.toLowerCase();
  const row = await insertInvitation(db, {
    organizationId: params.organizationId,
    email,
    role: params.role,
    tokenHash: hashToken(token),
    expiresAt,
    invitedBy: params.operatorId,
  });
  await appendAudit(db, {
    organizationId: params.organizationId,
    operatorId: params.operatorId,
    action: 'invitation.create',
    target: row.id,
    detail: { after: { email, role: params.role, expiresAt: expiresAt.toISOString() } },
  });
  return { id: row.id, email, role: params.role, expiresAt, token };
}

export async function revokeInvitationFor(
  db: Database,
  params: { operatorId: string; invitationId: string },
) {
  const inv = await getInvitation(db, params);
  if (!inv) throw new DomainError('not-found', 'invitation not found');
  await requireAccess(db, {
    operatorId: params.operatorId,
    organizationId: inv.organizationId,
    access: 'admin',
    what: 'invitation',
  });
  await requireManager(db, {
    operatorId: params.operatorId,
    organizationId: inv.organizationId,
    touches: [inv.role],
  });
  await deleteInvitation(db, params);
  await appendAudit(db, {
    organizationId: inv.organizationId,
    operatorId: params.operatorId,
    action: 'invitation.revoke',
    target: inv.id,
    detail: { before: { email: inv.email, role: inv.role } },
  });
  return { ok: true as const };
}

/**
 * Accepts an invitation as the signed-in operator: the token must be valid, unexpired and unused,
 * and the operator's email must be the invited one. Unknown, used and foreign tokens all answer
 * `not-found` (a token is no oracle); an expired one says so.
 */
export async function acceptInvitation(
  db: Database,
  clock: Clock,
  params: { operatorId: string; operatorEmail: string; token: string },
) {
  const inv = await findInvitationByToken(db, { tokenHash: hashToken(params.token) });
  const now = clock();
  if (!inv || inv.acceptedAt !== null || inv.email !== params.operatorEmail.toLowerCase())
    throw new DomainError('not-found', 'invitation not found');
  if (inv.expiresAt <= now)
    throw new DomainError('invalid-input', 'invitation expired', [
      { path: 'token', message: 'invitation expired' },
    ]);
  if ((await getRole(db, { operatorId: params.operatorId, organizationId: inv.organizationId })) !== null)
    throw new DomainError('conflict', 'already a member of this organization', [
      { path: 'token', message: 'already a member' },
    ]);
  if (!(await consumeInvitation(db, { invitationId: inv.id, operatorId: params.operatorId, now })))
    throw new DomainError('not-found', 'invitation not found');
  await addMembership(db, {
    operatorId: params.operatorId,
    organizationId: inv.organizationId,
    role: inv.role,
  });
  await appendAudit(db, {
    organizationId: inv.organizationId,
    operatorId: params.operatorId,
    action: 'invitation.accept',
    target: inv.id,
    detail: { after: { role: inv.role } },
  });
  return { organizationId: inv.organizationId, role: inv.role };
}
