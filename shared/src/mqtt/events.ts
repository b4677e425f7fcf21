import { z } from 'zod';

const RecordBase = { id: z.uuid(), at: z.iso.datetime() };

export const RegistrationRecordSchema = z
  .object({
    ...RecordBase,
    kind: z.literal('registration'),
    aor: z.string().min(1).max(512),
    contact: z.string().min(1).max(1024),
    action: z.enum(['added', 'refreshed', 'removed', 'expired']),
    expiresSec: z.number().int().min(0),
    source: z.string().max(64),
    transport: z.enum(['udp', 'tcp', 'tls', 'ws']),
  })
  .strict();

export const CallRecordSchema = z
  .object({
    ...RecordBase,
    kind: z.literal('call'),
    callId: z.string().min(1).max(256),
    from: z.string().max(512),
    to: z.string().max(512),
    direction: z.enum(['inbound', 'outbound', 'internal']),
    startedAt: z.iso.datetime(),
    answeredAt: z.iso.datetime().nullable(),
    endedAt: z.iso.datetime(),
    /** The final status of the INVITE (200 for an answered call). */
    status: z.number().int().min(100).max(699),
    /** How the call ended; absent in records from agents before this field existed. */
    disposition: z
      .enum(['answered', 'busy', 'no-answer', 'cancelled', 'rejected', 'failed', 'refused'])
      .optional(),
    /** Who or what ended an answered call. */
    endReason: z.enum(['bye-caller', 'bye-callee', 'session-expired', 'lifetime', 'agent']).optional(),
    /** Answered → ended, in whole seconds (0 when not answered). */
    durationSec: z.number().int().min(0).optional(),
    /** The SIP codes seen on the INVITE's branches, in arrival order (at most 16). */
    codes: z.array(z.number().int().min(100).max(699)).max(16).optional(),
    /** Media through the firewall for this call, when it was anchored. */
    media: z
      .object({
        packetsIn: z.number().int().min(0),
        packetsOut: z.number().int().min(0),
        bytesIn: z.number().int().min(0),
        bytesOut: z.number().int().min(0),
        oneWay: z.boolean(),
        mos: z.number().min(1).max(5).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** A dialog's live state for the fleet view (the call record follows when it ends). */
export const DialogRecordSchema = z
  .object({
    ...RecordBase,
    kind: z.literal('dialog'),
    callId: z.string().min(1).max(256),
    state: z.enum(['started', 'answered', 'ended']),
    from: z.string().max(512),
    to: z.string().max(512),
    direction: z.enum(['inbound', 'outbound', 'internal']),
  })
  .strict();

export const MediaCountersRecordSchema = z
  .object({
    ...RecordBase,
    kind: z.literal('media'),
    callId: z.string().min(1).max(256),
    packetsIn: z.number().int().min(0),
    packetsOut: z.number().int().min(0),
    bytesIn: z.number().int().min(0),
    bytesOut: z.number().int().min(0),
    /** Streams that carried packets one way only (one-way audio). */
    oneWayStreams: z.number().int().min(0).optional(),
    /** Packets from third parties dropped by strict source. */
    droppedFromStrangers: z.number().int().min(0).optional(),
    /** The worst direction's E-model MOS estimate (from RTCP receiver reports), when known. */
    mos: z.number().min(1).max(5).optional(),
  })
  .strict();

export const SecurityEventRecordSchema = z
  .object({
    ...RecordBase,
    kind: z.literal('security'),
    event: z.enum([
      'auth-failure',
      'source-blocked',
      'register-refused',
      'scanner-dropped',
      'malformed',
      'call-refused',
    ]),
    source: z.string().max(64),
    detail: z.string().max(512).default(''),
  })
  .strict();

export const TelemetryRecordSchema = z.discriminatedUnion('kind', [
  RegistrationRecordSchema,
  CallRecordSchema,
  DialogRecordSchema,
  MediaCountersRecordSchema,
  SecurityEventRecordSchema,
]);
export type TelemetryRecord = z.infer<typeof TelemetryRecordSchema>;

/** `events` (agent → CP, QoS 1, not retained): a batch of telemetry records, each idempotent by `id`. */
export const EventBatchSchema = z
  .object({
    v: z.literal(1),
    agentId: z.string().min(1),
    msgId: z.uuid(),
    sentAt: z.iso.datetime(),
    records: z.array(TelemetryRecordSchema).min(1).max(1000),
    /** The agent's outbox as this batch left it: records waiting, and records dropped past the disk quota since start. */
    outbox: z
      .object({ depth: z.number().int().min(0), dropped: z.number().int().min(0) })
      .strict()
      .optional(),
  })
  .strict();
export type EventBatch = z.infer<typeof EventBatchSchema>;

/**
 * `ack` (CP → agent, QoS 1, not retained): the batch `msgId` is stored in the control plane's
 * database (`stored` new records, `duplicates` already there). Only then may the agent trim it.
 */
export const EventAckSchema = z
  .object({
    v: z.literal(1),
    msgId: z.uuid(),
    stored: z.number().int().min(0),
    duplicates: z.number().int().min(0),
  })
  .strict();
export type EventAck = z.infer<typeof EventAckSchema>;

/**
 * `rpc/{method}` (CP → agent, QoS 1, not retained): a live query. The reply topic and the
 * correlation id travel in the payload so the contract works on MQTT 3.1.1 brokers (aedes).
 */
export const RpcRequestSchema = z
  .object({
    v: z.literal(1),
    id: z.uuid(),
    params: z.record(z.string(), z.unknown()).default({}),
    /** The agent ignores a request it receives after this instant. */
    deadline: z.iso.datetime(),
  })
  .strict();
export type RpcRequest = z.infer<typeof RpcRequestSchema>;

/** `reply` (agent → CP, QoS 1, not retained): the answer to one rpc request, by its id. */
export const RpcReplySchema = z.discriminatedUnion('ok', [
  z.object({ v: z.literal(1), id: z.uuid(), ok: z.literal(true), result: z.unknown() }).strict(),
  z
    .object({
      v: z.literal(1),
      id: z.uuid(),
      ok: z.literal(false),
      error: z.object({ code: z.string().min(1).max(64), message: z.string().max(1024) }).strict(),
    })
    .strict(),
]);
export type RpcReply = z.infer<typeof RpcReplySchema>;
