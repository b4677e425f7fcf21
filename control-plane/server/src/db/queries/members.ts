import { and, asc, count, eq, gt, isNull } from 'drizzle-orm';
import type { Database } from '../client.js';
import { invitations, memberships, operators, type Role } from '../schema/index.js';

export async function listMembers(db: Database, params: { organizationId: string }) {
  return db
    .select({
      operatorId: operators.id,
      email: operators.email,
      name: operators.name,
      role: memberships.role,
      since: memberships.createdAt,
    })
    .from(memberships)
    .innerJoin(operators, eq(operators.id, memberships.operatorId))
    .where(eq(memberships.organizationId, params.organizationId))
    .orderBy(asc(operators.email));
}

export async function countOwners(db: Database, params: { organizationId: string }): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(memberships)
    .where(and(eq(memberships.organizationId, params.organizationId), eq(memberships.role, 'owner')));
  return row?.n ?? 0;
}

export async function setMemberRole(
  db: Database,
  params: { organizationId: string; operatorId: string; role: Role },
): Promise<void> {
  await db
    .update(memberships)
    .set({ role: params.role })
    .where(
      and(
        eq(memberships.organizationId, params.organizationId),
        eq(memberships.operatorId, params.operatorId),
      ),
    );
}

export async function removeMember(db: Database, params: { organizationId: string; operatorId: string }) {
  await db
    .delete(memberships)
    .where(
      and(
        eq(memberships.organizationId, params.organizationId),
        eq(memberships.operatorId, params.operatorId),
      ),
    );
}

export type InvitationRow = typeof invitations.$inferSelect;

export async function insertInvitation(
  db: Database,
  params: Omit<typeof invitations.$inferInsert, 'id' | 'createdAt' | 'acceptedAt' | 'acceptedBy'>,
): Promise<InvitationRow> {
  const [row] = await db.insert(invitations).values(params).returning();
  return row!;
}

/** Open invitations of an organization (never the token hash). */
export async function listOpenInvitations(db: Database, params: { organizationId: string; now: Date }) {
  return db
    .select({
      id: invitations.id,
      email: invitations.email,
      role: invitations.role,
      expiresAt: invitations.expiresAt,
      createdAt: invitations.createdAt,
    })
    .from(invitations)
    .where(
      and(
        eq(invitations.organizationId, params.organizationId),
        isNull(invitations.acceptedAt),
        gt(invitations.expiresAt, params.now),
      ),
    )
    .orderBy(asc(invitations.createdAt));
}

export async function getInvitation(db: Database, params: { invitationId: string }) {
  const [row] = await db.select().from(invitations).where(eq(invitations.id, params.invitationId));
  return row ?? null;
}

export async function findInvitationByToken(db: Database, params: { tokenHash: string }) {
  const [row] = await db.select().from(invitations).where(eq(invitations.tokenHash, params.tokenHash));
  return row ?? null;
}

/** Marks an invitation accepted, once (only one caller flips `accepted_at` from null). */
export async function consumeInvitation(
  db: Database,
  params: { invitationId: string; operatorId: string; now: Date },
): Promise<boolean> {
  const rows = await db
    .update(invitations)
    .set({ acceptedAt: params.now, acceptedBy: params.operatorId })
    .where(
      and(
        eq(invitations.id, params.invitationId),
        isNull(invitations.acceptedAt),
        gt(invitations.expiresAt, params.now),
      ),
    )
    .returning({ id: invitations.id });
  return rows.length > 0;
}

export async function deleteInvitation(db: Database, params: { invitationId: string }): Promise<void> {
  await db.delete(invitations).where(eq(invitations.id, params.invitationId));
}
