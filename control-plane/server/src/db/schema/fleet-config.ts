import type { DigestAlgorithm, ManagedConfig, PoliciesPatch } from '@sipwall/shared';
import { boolean, index, jsonb, pgTable, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { organizations } from './organizations.js';
import { sites } from './sites.js';

/**
 * A SIP user the control plane manages for one site. Credentials are HA1s only (RFC 7616 §3.4.2,
 * realm = `domain`); the password itself is never stored. `username@domain` is unique per site.
 */
export const sipUsers = pgTable(
  'sip_users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    siteId: uuid('site_id')
      .notNull()
      .references(() => sites.id, { onDelete: 'cascade' }),
    username: text('username').notNull(),
    domain: text('domain').notNull(),
    displayName: text('display_name').notNull().default(''),
    enabled: boolean('enabled').notNull().default(true),
    ha1Md5: text('ha1_md5').notNull(),
    ha1Sha256: text('ha1_sha256').notNull(),
    /** Digest algorithms offered to this user, in challenge order; null = the site's default. */
    algorithms: jsonb('algorithms').$type<DigestAlgorithm[]>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('sip_users_site_idx').on(t.siteId),
    unique('sip_users_site_user_key').on(t.siteId, t.username, t.domain),
  ],
);

/** Managed config and policies of a whole organization (the defaults of its sites). */
export const organizationConfig = pgTable('organization_config', {
  organizationId: uuid('organization_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  config: jsonb('config').$type<ManagedConfig>().notNull().default({}),
  policies: jsonb('policies').$type<PoliciesPatch>().notNull().default({}),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** One site's overrides of its organization's managed config and policies (present fields win). */
export const siteConfig = pgTable('site_config', {
  siteId: uuid('site_id')
    .primaryKey()
    .references(() => sites.id, { onDelete: 'cascade' }),
  config: jsonb('config').$type<ManagedConfig>().notNull().default({}),
  policies: jsonb('policies').$type<PoliciesPatch>().notNull().default({}),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export const ROLLOUT_STATES = ['canary', 'completed', 'halted'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

/** One agent of a canary phase and the version it must report applied. */
export interface RolloutTarget {
  agentId: string;
  version: number;
}

/**
 * A change to many sites' overrides, staged: canary sites first, the rest only when every canary
 * agent reported the new version applied and is online. A canary that rejects or reverts halts it.
 */
export const rollouts = pgTable(
  'rollouts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    state: text('state', { enum: ROLLOUT_STATES }).notNull(),
    /** The patch overlaid on each site's overrides: `{ config?, policies? }`. */
    change: jsonb('change')
      .$type<{ config?: ManagedConfig | undefined; policies?: PoliciesPatch | undefined }>()
      .notNull(),
    canarySiteIds: jsonb('canary_site_ids').$type<string[]>().notNull(),
    restSiteIds: jsonb('rest_site_ids').$type<string[]>().notNull(),
    canaryTargets: jsonb('canary_targets').$type<RolloutTarget[]>().notNull().default([]),
    reason: text('reason'),
    createdBy: uuid('created_by'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('rollouts_org_idx').on(t.organizationId, t.state)],
);
