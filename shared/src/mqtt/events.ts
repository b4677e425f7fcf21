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
    status: z.number().int().min(100).max(699),
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
  })
  .strict();
export type EventBatch = z.infer<typeof EventBatchSchema>;
