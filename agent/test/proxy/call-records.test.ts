import { TelemetryRecordSchema } from '@sipwall/shared';
import { describe, expect, it } from 'vitest';
import type { MediaSessionSummary } from '../../src/media/sessions.js';
import { toCallRecord, toDialogRecord, toMediaRecord } from '../../src/proxy/call-records.js';
import type { Call } from '../../src/proxy/calls.js';

const call: Call = {
  callId: 'c'.repeat(300),
  fromTag: 'f1',
  from: 'sip:alice@example.test',
  to: 'sip:bob@example.test',
  direction: 'outbound',
  users: ['alice@example.test'],
  startedAt: Date.UTC(2026, 11, 6, 4, 0, 0),
  answeredAt: Date.UTC(2026, 11, 6, 4, 0, 2),
  toTag: 't1',
  endedAt: Date.UTC(2026, 11, 6, 4, 1, 0),
  status: 200,
};

describe('telemetry records of calls (what the control plane accepts)', () => {
  it('dialog, call and media records pass the shared schema, long Call-IDs cut to its bound', () => {
    const id = '6f1f7a8e-1b4e-4c55-9a53-0d8d2f7f2c11';
    for (const record of [toDialogRecord(call, 'answered', id, call.answeredAt!), toCallRecord(call, id)]) {
      const parsed = TelemetryRecordSchema.safeParse(record);
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    }
    const media: MediaSessionSummary = {
      callId: call.callId,
      packetsIn: 3000,
      bytesIn: 516_000,
      packetsOut: 2990,
      bytesOut: 514_280,
      oneWayStreams: 0,
      droppedFromStrangers: 199,
      mos: 4.40823,
    };
    const record = toMediaRecord(media, id, call.endedAt!);
    const parsed = TelemetryRecordSchema.safeParse(record);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    expect(record).toMatchObject({ kind: 'media', mos: 4.41, droppedFromStrangers: 199 });
    expect(record.callId).toHaveLength(256);
    // Without RTCP there is no MOS: the field is left out, not faked.
    expect('mos' in toMediaRecord({ ...media, mos: undefined }, id, call.endedAt!)).toBe(false);
  });
});
