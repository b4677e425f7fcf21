import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import { organizations } from './organizations.js';
import { sites } from './sites.js';

const tenant = {
  /** The agent that produced the record (kept after the agent is deleted). */
  agentId: text('agent_id').notNull(),
  siteId: uuid('site_id')
    .notNull()
    .references(() => sites.id, { onDelete: 'cascade' }),
  organizationId: uuid('organization_id')
    .notNull()
    .references(() => organizations.id, { onDelete: 'cascade' }),
};

/** One ended call as an agent reported it; idempotent by the record id the agent chose. */
export const callRecords = pgTable(
  'call_records',
  {
    id: uuid('id').primaryKey(),
    ...tenant,
    callId: text('call_id').notNull(),
    fromUri: text('from_uri').notNull(),
    toUri: text('to_uri').notNull(),
    direction: text('direction').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    answeredAt: timestamp('answered_at', { withTimezone: true }),
    endedAt: timestamp('ended_at', { withTimezone: true }).notNull(),
    status: integer('status').notNull(),
    disposition: text('disposition').notNull(),
    endReason: text('end_reason'),
    durationSec: integer('duration_sec').notNull(),
    codes: jsonb('codes').$type<number[]>().notNull().default([]),
    packetsIn: bigint('packets_in', { mode: 'number' }),
    packetsOut: bigint('packets_out', { mode: 'number' }),
    bytesIn: bigint('bytes_in', { mode: 'number' }),
    bytesOut: bigint('bytes_out', { mode: 'number' }),
    oneWay: boolean('one_way'),
    mos: real('mos'),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('call_records_site_ended_idx').on(t.siteId, t.endedAt),
    index('call_records_org_ended_idx').on(t.organizationId, t.endedAt),
  ],
);

/** A binding added, refreshed, removed or expired at an agent's registrar. */
export const registrationEvents = pgTable(
  'registration_events',
  {
    id: uuid('id').primaryKey(),
    ...tenant,
    at: timestamp('at', { withTimezone: true }).notNull(),
    aor: text('aor').notNull(),
    contact: text('contact').notNull(),
    action: text('action').notNull(),
    expiresSec: integer('expires_sec').notNull(),
    source: text('source').notNull(),
    transport: text('transport').notNull(),
  },
  (t) => [index('registration_events_site_at_idx').on(t.siteId, t.at)],
);

/** Failed authentications, blocked sources, refused calls … as the agents saw them. */
export const securityEvents = pgTable(
  'security_events',
  {
    id: uuid('id').primaryKey(),
    ...tenant,
    at: timestamp('at', { withTimezone: true }).notNull(),
    event: text('event').notNull(),
    source: text('source').notNull(),
    detail: text('detail').notNull(),
  },
  (t) => [
    index('security_events_site_at_idx').on(t.siteId, t.at),
    index('security_events_org_at_idx').on(t.organizationId, t.at),
  ],
);

/**
 * Hourly statistics per site and per organization (`scope`), kept after the raw records are
 * pruned. Counters grow only with newly stored records (never with duplicates). Calls count in
 * the hour they started; `peakConcurrent` is recomputed from the stored calls' [start, end)
 * intervals that overlap the hour (see domain/stats-rollup.ts).
 */
export const statsHourly = pgTable(
  'stats_hourly',
  {
    scope: text('scope').$type<'site' | 'organization'>().notNull(),
    scopeId: uuid('scope_id').notNull(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    hour: timestamp('hour', { withTimezone: true }).notNull(),
    calls: integer('calls').notNull().default(0),
    answered: integer('answered').notNull().default(0),
    answeredSec: bigint('answered_sec', { mode: 'number' }).notNull().default(0),
    oneWayCalls: integer('one_way_calls').notNull().default(0),
    failedAuths: integer('failed_auths').notNull().default(0),
    securityEvents: integer('security_events').notNull().default(0),
    registrations: integer('registrations').notNull().default(0),
    peakConcurrent: integer('peak_concurrent').notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.scope, t.scopeId, t.hour] }),
    index('stats_hourly_org_hour_idx').on(t.organizationId, t.hour),
  ],
);
