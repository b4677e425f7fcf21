import { z } from 'zod';
import { DigestAuthSchema } from '../config/digest-auth.js';
import { PoliciesPatchSchema } from '../config/policies.js';
import { DomainSchema, PortSchema } from '../config/primitives.js';
import { HostPortSchema } from '../config/proxy.js';
import { SipUserSchema } from '../config/sip-user.js';

/** The part of the agent's config the control plane manages. Absent fields keep the local file's value. */
export const ManagedConfigSchema = z
  .object({
    domains: z.array(DomainSchema).min(1).optional(),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error']).optional(),
    registrar: z
      .object({
        minExpiresSec: z.number().int().min(1).max(86_400).optional(),
        maxExpiresSec: z.number().int().min(1).max(604_800).optional(),
      })
      .strict()
      .optional(),
    /** Site default digest algorithms (and per-domain overrides), in challenge order. */
    auth: DigestAuthSchema.optional(),
    /** Every request for a foreign domain goes here; `null` = none (RFC 3263 routing). */
    outboundProxy: HostPortSchema.nullable().optional(),
    /** The media port range on each interface, and when early media may flow (`media.earlyMedia`). */
    media: z
      .object({
        portMin: PortSchema.optional(),
        portMax: PortSchema.optional(),
        earlyMedia: z.enum(['answer', 'offer']).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type ManagedConfig = z.infer<typeof ManagedConfigSchema>;

/**
 * `desired` (CP → agent, retained, QoS 1): the complete state the control plane manages for one
 * agent at one immutable version, compiled from the control plane's database (not a patch
 * against the previous version).
 *
 * - `config`, `policies`: present fields replace the agent's file values; absent fields keep them.
 * - `users`: the complete set of SIP users the control plane manages for this site. The agent
 *   serves these plus the users of its own file; a control-plane user with the same
 *   `username@domain` as a file user wins. A user missing from a later version is removed
 *   (it was the control plane's); file users are never removed by a push.
 * - `revertAfterSec`: after applying this version, the agent must reach the control plane again
 *   (publish its `reported` state) within this many seconds, or it returns to the previous
 *   version by itself. Absent = the agent's default (120 s); 0 = never revert.
 */
export const DesiredStateSchema = z
  .object({
    version: z.number().int().min(1),
    config: ManagedConfigSchema,
    users: z.array(SipUserSchema),
    policies: PoliciesPatchSchema,
    issuedAt: z.iso.datetime(),
    revertAfterSec: z.number().int().min(0).max(86_400).optional(),
  })
  .strict();
export type DesiredState = z.infer<typeof DesiredStateSchema>;
export type DesiredStateInput = z.input<typeof DesiredStateSchema>;
