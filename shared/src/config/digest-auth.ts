import { z } from 'zod';
import { DomainSchema } from './primitives.js';

/** Digest algorithms the agent verifies (RFC 7616; SHA-512-256 is not offered by SIP phones). */
export const DigestAlgorithmSchema = z.enum(['MD5', 'SHA-256']);
export type DigestAlgorithm = z.infer<typeof DigestAlgorithmSchema>;

/**
 * Offered algorithms in challenge order. Many deployed phones answer only the first challenge and
 * only MD5 (SIPp), and some refuse a 401 that offers anything but MD5 at all: baresip 1.0 (libre)
 * fails the whole REGISTER with ENOSYS ("Function not implemented") when any WWW-Authenticate
 * names another algorithm, whatever its position. So the default is MD5 alone; offer SHA-256
 * (RFC 8760) per domain or per user to phones that handle several challenges.
 */
export const DigestAlgorithmsSchema = z
  .array(DigestAlgorithmSchema)
  .min(1)
  .max(2)
  .refine((a) => new Set(a).size === a.length, 'must not repeat an algorithm');

/** `sip.auth`: which digest challenges the agent offers, site-wide and per domain. */
export const DigestAuthSchema = z
  .object({
    algorithms: DigestAlgorithmsSchema.default(['MD5']),
    /** Per-domain override of `algorithms` (a user's own `algorithms` wins over both). */
    domainAlgorithms: z.record(DomainSchema, DigestAlgorithmsSchema).default({}),
  })
  .strict();
export type DigestAuth = z.infer<typeof DigestAuthSchema>;
