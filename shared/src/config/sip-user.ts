import { z } from 'zod';
import { DigestAlgorithmsSchema } from './digest-auth.js';
import { DomainSchema, Ha1Md5Schema, Ha1Sha256Schema, CidrSchema, SipUsernameSchema } from './primitives.js';

/**
 * A SIP user known to the agent. Credentials are HA1 only (RFC 7616 §3.4.2:
 * H(username ":" realm ":" password)) per algorithm; a plaintext password never appears here.
 */
export const SipUserSchema = z
  .object({
    username: SipUsernameSchema,
    domain: DomainSchema,
    ha1: z
      .object({ md5: Ha1Md5Schema.optional(), sha256: Ha1Sha256Schema.optional() })
      .strict()
      .refine((h) => h.md5 !== undefined || h.sha256 !== undefined, 'needs at least one of md5 or sha256'),
    /** Source networks this user may register from; empty = any allowed by the domain. */
    allowFrom: z.array(CidrSchema).default([]),
    maxBindings: z.number().int().min(1).max(100).default(10),
    /**
     * Digest algorithms offered to this user, in challenge order; wins over `sip.auth.domainAlgorithms`
     * and `sip.auth.algorithms` (for a phone that answers only the first challenge). Each needs its HA1.
     */
    algorithms: DigestAlgorithmsSchema.optional(),
  })
  .strict()
  .refine(
    (u) =>
      u.algorithms === undefined ||
      u.algorithms.every((a) => (a === 'MD5' ? u.ha1.md5 : u.ha1.sha256) !== undefined),
    { message: 'every algorithm in algorithms needs its HA1 (ha1.md5 / ha1.sha256)', path: ['algorithms'] },
  );
export type SipUser = z.infer<typeof SipUserSchema>;
