import { z } from 'zod';
import { CidrSchema } from './primitives.js';

/** Site policies; pushed by the control plane (per organization, overridable per site) or set locally. */
export const PoliciesSchema = z
  .object({
    /** Methods from the inside that must carry valid digest credentials. REGISTER is always challenged. */
    authenticate: z
      .array(z.enum(['INVITE', 'MESSAGE', 'SUBSCRIBE', 'NOTIFY', 'OPTIONS', 'REFER']))
      .default(['INVITE']),
    /** Requests whose User-Agent contains one of these (case-insensitive) are dropped silently. */
    dropUserAgents: z
      .array(z.string().min(1).max(128))
      .default(['friendly-scanner', 'sipvicious', 'sipcli', 'VaxSIPUserAgent']),
    /** Source networks that may register at all (empty = any). */
    registerAllowFrom: z.array(CidrSchema).default([]),
    registerDenyFrom: z.array(CidrSchema).default([]),
    bruteForce: z
      .object({
        maxFailures: z.number().int().min(1).max(10_000).default(10),
        windowSec: z.number().int().min(1).max(86_400).default(60),
        blockSec: z.number().int().min(1).max(604_800).default(900),
      })
      .strict()
      .default({ maxFailures: 10, windowSec: 60, blockSec: 900 }),
    maxMediaStreamsPerSession: z.number().int().min(1).max(64).default(4),
    /**
     * RFC 4028 session timers on calls through the agent: INVITEs get a Session-Expires when they
     * carry none (`defaultSessionExpiresSec`), a Session-Expires below `minSec` is refused with 422,
     * and a call whose session is not refreshed in time is torn down (BYE to both parties, media
     * closed) so a lost BYE never leaves a pinhole open for the rest of the day.
     */
    sessionTimer: z
      .object({
        enabled: z.boolean().default(true),
        minSec: z.number().int().min(90).max(86_400).default(90),
        defaultSessionExpiresSec: z.number().int().min(90).max(86_400).default(1800),
      })
      .strict()
      .refine((t) => t.defaultSessionExpiresSec >= t.minSec, {
        message: 'defaultSessionExpiresSec must not be below minSec',
        path: ['defaultSessionExpiresSec'],
      })
      .default({ enabled: true, minSec: 90, defaultSessionExpiresSec: 1800 }),
    /**
     * Topology hiding on the outside (RFC 3261 §16 plus the agent's own state): no inside Via,
     * Record-Route, Contact or address leaves the site; `stripHeaders` are removed from requests and
     * responses sent to the outside (a trailing `*` matches a prefix, e.g. `P-*`).
     */
    topologyHiding: z
      .object({
        enabled: z.boolean().default(true),
        stripHeaders: z
          .array(
            z
              .string()
              .min(1)
              .max(64)
              .regex(/^[A-Za-z0-9!%'*+._`~-]+$/, 'must be a header name'),
          )
          .default(['User-Agent', 'Server', 'P-*', 'Organization']),
      })
      .strict()
      .default({ enabled: true, stripHeaders: ['User-Agent', 'Server', 'P-*', 'Organization'] }),
    /** Toll-fraud guard: call admission per inside user and per site (INVITEs that start a dialog). */
    callAdmission: z
      .object({
        maxConcurrentCallsPerUser: z.number().int().min(1).max(100_000).default(8),
        maxCallAttemptsPerSecPerUser: z.number().int().min(1).max(100_000).default(5),
        maxConcurrentCallsPerSite: z.number().int().min(1).max(1_000_000).default(2000),
        maxCallAttemptsPerSecPerSite: z.number().int().min(1).max(1_000_000).default(200),
      })
      .strict()
      .default({
        maxConcurrentCallsPerUser: 8,
        maxCallAttemptsPerSecPerUser: 5,
        maxConcurrentCallsPerSite: 2000,
        maxCallAttemptsPerSecPerSite: 200,
      }),
    /**
     * Body MIME types (`type/subtype`) allowed through the proxy; empty = all. A multipart body is
     * judged part by part (its container type only against the deny list).
     */
    allowedBodyTypes: z.array(z.string().min(1)).default([]),
    /** Body MIME types refused (415) even when allowed, e.g. `application/vnd.3gpp.sms`. */
    deniedBodyTypes: z.array(z.string().min(1)).default([]),
  })
  .strict();
export type Policies = z.infer<typeof PoliciesSchema>;
export type PoliciesInput = z.input<typeof PoliciesSchema>;

/**
 * A policies patch as the control plane pushes it: every field optional, no defaults. A field that
 * is present replaces the agent's value (nested objects field by field, lists whole); an absent
 * field keeps what the agent has (its file, or the built-in default). Absent never means delete.
 */
export const PoliciesPatchSchema = z
  .object({
    authenticate: z
      .array(z.enum(['INVITE', 'MESSAGE', 'SUBSCRIBE', 'NOTIFY', 'OPTIONS', 'REFER']))
      .optional(),
    dropUserAgents: z.array(z.string().min(1).max(128)).optional(),
    registerAllowFrom: z.array(CidrSchema).optional(),
    registerDenyFrom: z.array(CidrSchema).optional(),
    bruteForce: z
      .object({
        maxFailures: z.number().int().min(1).max(10_000).optional(),
        windowSec: z.number().int().min(1).max(86_400).optional(),
        blockSec: z.number().int().min(1).max(604_800).optional(),
      })
      .strict()
      .optional(),
    maxMediaStreamsPerSession: z.number().int().min(1).max(64).optional(),
    sessionTimer: z
      .object({
        enabled: z.boolean().optional(),
        minSec: z.number().int().min(90).max(86_400).optional(),
        defaultSessionExpiresSec: z.number().int().min(90).max(86_400).optional(),
      })
      .strict()
      .optional(),
    topologyHiding: z
      .object({
        enabled: z.boolean().optional(),
        stripHeaders: z
          .array(
            z
              .string()
              .min(1)
              .max(64)
              .regex(/^[A-Za-z0-9!%'*+._`~-]+$/, 'must be a header name'),
          )
          .optional(),
      })
      .strict()
      .optional(),
    callAdmission: z
      .object({
        maxConcurrentCallsPerUser: z.number().int().min(1).max(100_000).optional(),
        maxCallAttemptsPerSecPerUser: z.number().int().min(1).max(100_000).optional(),
        maxConcurrentCallsPerSite: z.number().int().min(1).max(1_000_000).optional(),
        maxCallAttemptsPerSecPerSite: z.number().int().min(1).max(1_000_000).optional(),
      })
      .strict()
      .optional(),
    allowedBodyTypes: z.array(z.string().min(1)).optional(),
    deniedBodyTypes: z.array(z.string().min(1)).optional(),
  })
  .strict();
export type PoliciesPatch = z.infer<typeof PoliciesPatchSchema>;
