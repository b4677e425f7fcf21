import { pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** A tenant: owns sites (and through them agents). */
export const organizations = pgTable('organizations', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
