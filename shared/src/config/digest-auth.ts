import { z } from 'zod';
import { DomainSchema } from './primitives.js';

/** Digest algorithms the agent verifies (RFC 7616; SHA-512-256 is not offered by SIP phones). */
export const DigestAlgorithmSchema = z.enum(['MD5', 'SHA-256']);
export type DigestAlgorithm = z.infer<typeof DigestAlgorithmSchema>;

/**
 * Offered algorithms in challenge order. Many deployed phones (baresip 1.0, SIPp) answer only the
 * first challenge and only MD5, so MD5 comes first by default.
 */
export const DigestAlgorithmsSchema = z
  .array(DigestAlgorithmSchema)
  .min(1)
  .max(2)
  .refine((a) => new Set(a).size === a.length, 'must not repeat an algorithm');

/** `sip.auth`: which digest challenges the agent offers, site-wide and per domain. */
export const DigestAuthSchema = z
  .object({
    algorithms: DigestAlgorithmsSchema.default(['MD5', 'SHA-256']),
    /** Per-domain override of `algorithms` (a user's own `algorithms` wins over both). */
    domainAlgorithms: z.record(DomainSchema, DigestAlgorithmsSchema).default({}),
  })
  .strict();
export type DigestAuth = z.infer<typeof DigestAuthSchema>;
