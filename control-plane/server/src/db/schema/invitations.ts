import { index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { operators, roleEnum } from './operators.js';
import { organizations } from './organizations.js';

/**
 * An invitation to join an organization with a role. The one-time token is stored as SHA-256 only;
 * it is accepted by a signed-in operator whose email matches, before `expiresAt`, once.
 */
export const invitations = pgTable(
  'invitations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    role: roleEnum('role').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    acceptedAt: timestamp('accepted_at', { withTimezone: true }),
    acceptedBy: uuid('accepted_by').references(() => operators.id, { onDelete: 'set null' }),
    invitedBy: uuid('invited_by').references(() => operators.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('invitations_org_idx').on(t.organizationId)],
);
