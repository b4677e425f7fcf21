import { and, asc, eq } from 'drizzle-orm';
import type { Database } from '../client.js';
import { memberships, organizations, type Role } from '../schema/index.js';

export interface OrganizationView {
  id: string;
  name: string;
  role: Role;
  createdAt: Date;
}

/** Organizations the operator is a member of, with the operator's role. */
export async function listOrganizationsFor(
  db: Database,
  params: { operatorId: string },
): Promise<OrganizationView[]> {
  return db
    .select({
      id: organizations.id,
      name: organizations.name,
      role: memberships.role,
      createdAt: organizations.createdAt,
    })
    .from(memberships)
    .innerJoin(organizations, eq(organizations.id, memberships.organizationId))
    .where(eq(memberships.operatorId, params.operatorId))
    .orderBy(asc(organizations.name));
}

/** Creates an organization and makes `ownerId` its owner, in one transaction. */
export async function createOrganization(
  db: Database,
  params: { name: string; ownerId: string },
): Promise<OrganizationView> {
  return db.transaction(async (tx) => {
    const [org] = await tx.insert(organizations).values({ name: params.name }).returning();
    await tx
      .insert(memberships)
      .values({ operatorId: params.ownerId, organizationId: org!.id, role: 'owner' });
    return { id: org!.id, name: org!.name, role: 'owner' as const, createdAt: org!.createdAt };
  });
}

export async function addMembership(
  db: Database,
  params: { operatorId: string; organizationId: string; role: Role },
): Promise<void> {
  await db
    .insert(memberships)
    .values(params)
    .onConflictDoUpdate({
      target: [memberships.operatorId, memberships.organizationId],
      set: { role: params.role },
    });
}

/** The operator's role in the organization, or null when not a member. */
export async function getRole(
  db: Database,
  params: { operatorId: string; organizationId: string },
): Promise<Role | null> {
  const [row] = await db
    .select({ role: memberships.role })
    .from(memberships)
    .where(
      and(
        eq(memberships.operatorId, params.operatorId),
        eq(memberships.organizationId, params.organizationId),
      ),
    );
  return row?.role ?? null;
}
