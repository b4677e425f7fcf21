import { boolean, index, integer, jsonb, pgTable, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { sites } from './sites.js';

/** One error the agent reported for its most recent desired version. */
export interface ReportedError {
  path: string;
  message: string;
}

/**
 * An agent (one site firewall). Enrollment token and MQTT password are stored as hashes only:
 * the token as SHA-256 (high-entropy, looked up by hash), the MQTT password as scrypt.
 * Names are unique per site.
 */
export const agents = pgTable(
  'agents',
  {
    id: text('id').primaryKey(),
    siteId: uuid('site_id')
      .notNull()
      .references(() => sites.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    enrollmentTokenHash: text('enrollment_token_hash').unique(),
    enrollmentExpiresAt: timestamp('enrollment_expires_at', { withTimezone: true }),
    enrollmentUsedAt: timestamp('enrollment_used_at', { withTimezone: true }),
    mqttPasswordHash: text('mqtt_password_hash'),
    agentVersion: text('agent_version'),
    hostname: text('hostname'),
    online: boolean('online').notNull().default(false),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }),
    appliedVersion: integer('applied_version'),
    reportedStatus: text('reported_status'),
    /** For `rejected` / `reverted`: the desired version that was refused or undone. */
    reportedRejectedVersion: integer('reported_rejected_version'),
    reportedErrors: jsonb('reported_errors').$type<ReportedError[]>().notNull().default([]),
    reportedAt: timestamp('reported_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('agents_site_idx').on(t.siteId), unique('agents_site_name_key').on(t.siteId, t.name)],
);
