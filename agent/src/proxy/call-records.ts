import type { MediaSessionSummary } from '../media/sessions.js';
import type { Call } from './calls.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** The live-state record of a call for `DialogRecordSchema` (`@sipwall/shared`). */
export function toDialogRecord(c: Call, state: 'started' | 'answered' | 'ended', id: string, at: number) {
  return {
    id,
    at: iso(at),
    kind: 'dialog' as const,
    callId: c.callId.slice(0, 256),
    state,
    from: c.from.slice(0, 512),
    to: c.to.slice(0, 512),
    direction: c.direction,
  };
}

/** The call record of an ended call for `CallRecordSchema`. */
export function toCallRecord(c: Call, id: string) {
  const ended = c.endedAt ?? c.startedAt;
  return {
    id,
    at: iso(ended),
    kind: 'call' as const,
    callId: c.callId.slice(0, 256),
    from: c.from.slice(0, 512),
    to: c.to.slice(0, 512),
    direction: c.direction,
    startedAt: iso(c.startedAt),
    answeredAt: c.answeredAt === undefined ? null : iso(c.answeredAt),
    endedAt: iso(ended),
    status: c.status ?? 500,
  };
}

/** A call's media totals when its session ends, for `MediaCountersRecordSchema`. */
export function toMediaRecord(m: MediaSessionSummary, id: string, at: number) {
  return {
    id,
    at: iso(at),
    kind: 'media' as const,
    callId: m.callId.slice(0, 256),
    packetsIn: m.packetsIn,
    packetsOut: m.packetsOut,
    bytesIn: m.bytesIn,
    bytesOut: m.bytesOut,
    oneWayStreams: m.oneWayStreams,
    droppedFromStrangers: m.droppedFromStrangers,
    ...(m.mos === undefined ? {} : { mos: Math.round(m.mos * 100) / 100 }),
  };
}
