import { z } from 'zod';
import { PoliciesSchema } from '../config/policies.js';
import { DomainSchema } from '../config/primitives.js';
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
  })
  .strict();
export type ManagedConfig = z.infer<typeof ManagedConfigSchema>;

/** `desired` (CP → agent, retained): the complete desired state at one immutable version. */
export const DesiredStateSchema = z
  .object({
    version: z.number().int().min(1),
    config: ManagedConfigSchema,
    users: z.array(SipUserSchema),
    policies: PoliciesSchema,
    issuedAt: z.iso.datetime(),
  })
  .strict();
export type DesiredState = z.infer<typeof DesiredStateSchema>;
export type DesiredStateInput = z.input<typeof DesiredStateSchema>;
