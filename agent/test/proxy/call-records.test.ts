import { CallRecordSchema, TelemetryRecordSchema } from '@sipwall/shared';
import { describe, expect, it } from 'vitest';
import type { MediaSessionSummary } from '../../src/media/sessions.js';
import { CallRecordJoin, type CallRecord } from '../../src/proxy/call-record-join.js';
import { callDisposition, toCallRecord, toDialogRecord } from '../../src/proxy/call-records.js';
import type { Call } from '../../src/proxy/calls.js';
import { ManualClock } from '../../src/util/clock.js';

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
  endedAt: Date.UTC(2026, 11, 6, 4, 1, 0, 600),
  status: 200,
  endReason: 'bye-callee',
  cancelled: false,
  codes: [180, 200],
};

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

const id = '6f1f7a8e-1b4e-4c55-9a53-0d8d2f7f2c11';

describe('telemetry records of calls (what the control plane accepts)', () => {
  it('dialog and call records pass the shared schema, long Call-IDs cut to its bound', () => {
    for (const record of [
      toDialogRecord(call, 'answered', id, call.answeredAt!),
      toCallRecord(call, id, media),
    ]) {
      const parsed = TelemetryRecordSchema.safeParse(record);
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    }
  });

  it('an answered call: duration from answer to end, end reason, codes and its media folded in', () => {
    const r = CallRecordSchema.parse(toCallRecord(call, id, media));
    expect(r).toMatchObject({
      disposition: 'answered',
      status: 200,
      endReason: 'bye-callee',
      durationSec: 59,
      codes: [180, 200],
      media: {
        packetsIn: 3000,
        packetsOut: 2990,
        bytesIn: 516_000,
        bytesOut: 514_280,
        oneWay: false,
        mos: 4.41,
      },
    });
    expect(r.callId).toHaveLength(256);
    // Without RTCP there is no MOS: the field is left out, not faked; one stream one way → oneWay.
    const quiet = toCallRecord(call, id, { ...media, mos: undefined, oneWayStreams: 1, packetsOut: 0 });
    expect(quiet.media).toEqual({
      packetsIn: 3000,
      packetsOut: 0,
      bytesIn: 516_000,
      bytesOut: 514_280,
      oneWay: true,
    });
    expect('media' in toCallRecord(call, id)).toBe(false);
  });

  it.each([
    [{ answeredAt: undefined, cancelled: false, status: 486 }, 'busy'],
    [{ answeredAt: undefined, cancelled: false, status: 600 }, 'busy'],
    [{ answeredAt: undefined, cancelled: false, status: 480 }, 'no-answer'],
    [{ answeredAt: undefined, cancelled: false, status: 408 }, 'no-answer'],
    [{ answeredAt: undefined, cancelled: true, status: 487 }, 'cancelled'],
    [{ answeredAt: undefined, cancelled: false, status: 404 }, 'rejected'],
    [{ answeredAt: undefined, cancelled: false, status: 603 }, 'rejected'],
    [{ answeredAt: undefined, cancelled: false, status: 503 }, 'failed'],
    [{ answeredAt: 5, cancelled: false, status: 200 }, 'answered'],
  ] as const)('disposition of %j is %s', (c, expected) => {
    expect(callDisposition(c)).toBe(expected);
  });

  it('an unanswered call has duration 0 and no end reason', () => {
    const r = toCallRecord({ ...call, answeredAt: undefined, status: 486, endReason: undefined }, id);
    expect(r).toMatchObject({ disposition: 'busy', durationSec: 0, answeredAt: null });
    expect('endReason' in r).toBe(false);
  });
});

describe('CallRecordJoin: one record per call, media totals when they come', () => {
  const setup = () => {
    const clock = new ManualClock(0);
    const out: CallRecord[] = [];
    let n = 0;
    const join = new CallRecordJoin(
      { waitMs: 2000, keepMediaMs: 60_000, maxKeptMedia: 2 },
      clock,
      () => `id-${n++}`,
      (r) => out.push(r),
    );
    return { clock, out, join };
  };

  it('media reported after the call ended joins it at once', () => {
    const { out, join } = setup();
    join.callEnded(call);
    expect(out).toHaveLength(0);
    join.mediaEnded(media);
    expect(out).toHaveLength(1);
    expect(out[0]!.media?.packetsIn).toBe(3000);
  });

  it('media reported before the call ended (session limit) is kept for it', () => {
    const { out, join, clock } = setup();
    join.mediaEnded(media);
    clock.advance(30_000);
    join.callEnded(call);
    expect(out.map((r) => r.media?.bytesOut)).toEqual([514_280]);
  });

  it('a call without media goes out after the wait, once; late media does not make a second record', () => {
    const { out, join, clock } = setup();
    join.callEnded(call);
    clock.advance(1999);
    expect(out).toHaveLength(0);
    clock.advance(1);
    expect(out).toHaveLength(1);
    expect(out[0]!.media).toBeUndefined();
    join.mediaEnded(media);
    expect(out).toHaveLength(1);
  });

  it('flush emits every waiting call; kept media is bounded', () => {
    const { out, join } = setup();
    join.callEnded({ ...call, callId: 'a' });
    join.callEnded({ ...call, callId: 'b' });
    join.flush();
    expect(out.map((r) => r.callId).sort()).toEqual(['a', 'b']);
    for (const callId of ['x', 'y', 'z']) join.mediaEnded({ ...media, callId });
    join.callEnded({ ...call, callId: 'x' }); // evicted (bound 2): waits, then goes without media
    join.callEnded({ ...call, callId: 'z' });
    expect(out.at(-1)).toMatchObject({ callId: 'z', media: { packetsIn: 3000 } });
  });
});
