import { z } from 'zod';

/**
 * Live queries (`rpc/{method}` → `reply`): the methods, their parameters and their results.
 * The envelope (`RpcRequestSchema`, `RpcReplySchema`) is in `events.ts`; this file types what
 * travels inside it, so the control plane validates an agent's answer before showing it.
 */
export const RPC_METHODS = ['registrations', 'calls', 'ladder'] as const;
export type RpcMethod = (typeof RPC_METHODS)[number];

export function isRpcMethod(method: string): method is RpcMethod {
  return (RPC_METHODS as readonly string[]).includes(method);
}

/** Rows per page unless asked otherwise, and at most. Replies are also cut to stay small in bytes. */
export const RPC_DEFAULT_PAGE_LIMIT = 100;
export const RPC_MAX_PAGE_LIMIT = 500;

/** Largest reply an agent sends (bytes of JSON); far below `MAX_PAYLOAD_BYTES` so a broker never refuses it. */
export const RPC_MAX_REPLY_BYTES = 256 * 1024;

/** Error codes an agent answers with (`RpcReply.error.code`). */
export type RpcErrorCode = 'unknown-method' | 'invalid-params' | 'unavailable' | 'internal';

/** `params` of a listing: `offset` rows skipped, at most `limit` returned. */
export const RpcPageParamsSchema = z
  .object({
    limit: z.number().int().min(1).max(RPC_MAX_PAGE_LIMIT).default(RPC_DEFAULT_PAGE_LIMIT),
    offset: z.number().int().min(0).max(10_000_000).default(0),
  })
  .strict();
export type RpcPageParams = z.output<typeof RpcPageParamsSchema>;

const Text = z.string().max(2048);
const Instant = z.iso.datetime();

/** One binding of the agent's location service. */
export const LiveRegistrationSchema = z
  .object({
    aor: Text,
    contact: Text,
    /** Where the REGISTER came from, `ip:port` (`[v6]:port`). */
    source: z.string().max(64),
    transport: z.enum(['udp', 'tcp', 'tls', 'ws']),
    /** `main`: the agent is the registrar; `passive`: learned from an outside registrar's 200 OK. */
    mode: z.enum(['main', 'passive']),
    registeredAt: Instant,
    expiresAt: Instant,
    instanceId: Text.nullable(),
    /** The phone's User-Agent, when the registrar recorded it. */
    userAgent: z.string().max(256).optional(),
  })
  .strict();
export type LiveRegistration = z.infer<typeof LiveRegistrationSchema>;

const Flow = z.object({ packets: z.number().int().min(0), bytes: z.number().int().min(0) }).strict();
const DirectionQuality = z
  .object({
    lossPercent: z.number().min(0).optional(),
    jitterMs: z.number().min(0).optional(),
    mos: z.number().optional(),
  })
  .strict();

/** One media stream of a call: both sides, counters and quality per direction (`aToB`: a's party sends). */
export const LiveStreamSchema = z
  .object({
    index: z.number().int().min(0),
    media: z.string().max(32),
    sides: z
      .array(
        z
          .object({
            interface: z.string().max(64),
            role: z.string().max(32),
            /** The agent's media endpoint on this side, `ip:port`. */
            local: z.string().max(64).nullable(),
            /** This side's party, `ip:port`. */
            peer: z.string().max(64).nullable(),
          })
          .strict(),
      )
      .max(2),
    /** Null while the stream has no open pinhole (e.g. before the answer). */
    aToB: Flow.nullable(),
    bToA: Flow.nullable(),
    /** Packets dropped because they came from a stranger (strict source). */
    dropped: z.number().int().min(0),
    quality: z
      .object({
        aToB: DirectionQuality,
        bToA: DirectionQuality,
        rttMs: z.number().min(0).optional(),
        oneWay: z.boolean(),
      })
      .strict()
      .nullable(),
  })
  .strict();
export type LiveStream = z.infer<typeof LiveStreamSchema>;

/** One active call (early or confirmed dialog) through the agent's proxy. */
export const LiveCallSchema = z
  .object({
    callId: Text,
    from: Text,
    to: Text,
    direction: z.enum(['inbound', 'outbound', 'internal']),
    state: z.enum(['early', 'confirmed']),
    startedAt: Instant,
    answeredAt: Instant.nullable(),
    /** Empty when the call's media is not anchored (`media.driver: none`, or no SDP yet). */
    streams: z.array(LiveStreamSchema).max(16),
  })
  .strict();
export type LiveCall = z.infer<typeof LiveCallSchema>;

/**
 * A page of a listing: `rows` starts at `offset`; `total` is the listing's size now. `truncated`:
 * fewer rows than asked were sent to keep the reply under `RPC_MAX_REPLY_BYTES`; ask again from
 * `offset + rows.length`.
 */
function pageOf<T extends z.ZodType>(row: T) {
  return z
    .object({
      total: z.number().int().min(0),
      offset: z.number().int().min(0),
      rows: z.array(row),
      truncated: z.boolean(),
    })
    .strict();
}

export const LiveRegistrationsPageSchema = pageOf(LiveRegistrationSchema);
export type LiveRegistrationsPage = z.infer<typeof LiveRegistrationsPageSchema>;
export const LiveCallsPageSchema = pageOf(LiveCallSchema);
export type LiveCallsPage = z.infer<typeof LiveCallsPageSchema>;

/** `params` of `ladder`: the call, by its Call-ID on either leg. */
export const RpcLadderParamsSchema = z.object({ callId: z.string().min(1).max(512) }).strict();
export type RpcLadderParams = z.output<typeof RpcLadderParamsSchema>;

/** Most messages one ladder reply carries (the agent keeps fewer per call by default). */
export const LADDER_MAX_MESSAGES = 256;

/**
 * One SIP message of a call as the agent received (`in`) or sent (`out`) it on one of its
 * interfaces. `text` is the message with `Authorization`/`Proxy-Authorization` responses redacted,
 * cut at the agent's per-message bound (`truncated`).
 */
export const LadderMessageSchema = z
  .object({
    at: Instant,
    direction: z.enum(['in', 'out']),
    interface: z.string().max(64),
    role: z.enum(['inside', 'outside']),
    transport: z.string().max(8),
    /** The other end, `ip:port`. */
    peer: z.string().max(64),
    /** The Call-ID on this leg's wire. */
    callId: z.string().max(512),
    method: z.string().max(64).nullable(),
    status: z.number().int().min(100).max(699).nullable(),
    reason: z.string().max(256).nullable(),
    cseqMethod: z.string().max(64),
    text: z.string().max(65_536),
    truncated: z.boolean(),
  })
  .strict();
export type LadderMessage = z.infer<typeof LadderMessageSchema>;

/**
 * A call's ladder: `found` false when the agent keeps no trace of it (never seen, or older than
 * the calls it keeps). `dropped`: older messages of the call the agent no longer holds, or left
 * out to keep the reply small (then `truncated`).
 */
export const LadderResultSchema = z
  .object({
    callId: z.string().max(512),
    found: z.boolean(),
    messages: z.array(LadderMessageSchema).max(LADDER_MAX_MESSAGES),
    dropped: z.number().int().min(0),
    truncated: z.boolean(),
  })
  .strict();
export type LadderResult = z.infer<typeof LadderResultSchema>;

/** The params schema of each method. */
export const RPC_PARAMS_SCHEMAS = {
  registrations: RpcPageParamsSchema,
  calls: RpcPageParamsSchema,
  ladder: RpcLadderParamsSchema,
} as const satisfies Record<RpcMethod, z.ZodType>;
export type RpcParams<M extends RpcMethod> = z.input<(typeof RPC_PARAMS_SCHEMAS)[M]>;

/** The result schema of each method. */
export const RPC_RESULT_SCHEMAS = {
  registrations: LiveRegistrationsPageSchema,
  calls: LiveCallsPageSchema,
  ladder: LadderResultSchema,
} as const satisfies Record<RpcMethod, z.ZodType>;
