import type { MediaSessionSummary } from '../media/sessions.js';
import { type Call, MAX_CALL_CODES } from './calls.js';

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

type Disposition = 'answered' | 'busy' | 'no-answer' | 'cancelled' | 'rejected' | 'failed';

/** How a call ended, from its final status (pure; one table, as the control plane's statistics read it). */
export function callDisposition(c: Pick<Call, 'answeredAt' | 'cancelled' | 'status'>): Disposition {
  if (c.answeredAt !== undefined) return 'answered';
  const status = c.status ?? 500;
  if (c.cancelled || status === 487) return 'cancelled';
  if (status === 486 || status === 600) return 'busy';
  if (status === 408 || status === 480) return 'no-answer';
  if (status >= 500 && status < 600) return 'failed';
  return 'rejected';
}

/** The call record of an ended call for `CallRecordSchema`, with its media totals when it was anchored. */
export function toCallRecord(c: Call, id: string, media?: MediaSessionSummary) {
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
    disposition: callDisposition(c),
    ...(c.endReason === undefined ? {} : { endReason: c.endReason }),
    durationSec: c.answeredAt === undefined ? 0 : Math.max(0, Math.round((ended - c.answeredAt) / 1000)),
    ...(c.codes.length === 0 ? {} : { codes: c.codes.slice(0, MAX_CALL_CODES) }),
    ...(media === undefined ? {} : { media: mediaTotals(media) }),
  };
}

/** A call's media totals when its session ends (one-way: a stream carried packets one way only). */
function mediaTotals(m: MediaSessionSummary) {
  return {
    packetsIn: m.packetsIn,
    packetsOut: m.packetsOut,
    bytesIn: m.bytesIn,
    bytesOut: m.bytesOut,
    oneWay: m.oneWayStreams > 0,
    ...(m.mos === undefined ? {} : { mos: Math.round(m.mos * 100) / 100 }),
  };
}
