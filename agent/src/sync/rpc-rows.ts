import type { LadderResult, LiveCall, LiveRegistration, LiveStream } from '@sipwall/shared';
import type { MediaSessionRow } from '../media/sessions.js';
import type { Endpoint } from '../media/types.js';
import type { CallRow } from '../proxy/calls.js';
import type { RegistrationRow } from '../registrar/registration-view.js';
import type { CallTraceView } from '../trace/call-trace.js';

/**
 * Live-query rows (pure): the agent's own monitoring rows (the same the admin API serves)
 * shaped for the wire (`LiveRegistrationSchema`, `LiveCallSchema`).
 */

const iso = (ms: number) => new Date(ms).toISOString();

function endpoint(e: Endpoint | undefined): string | null {
  if (e === undefined) return null;
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** A binding as the wire shows it; `expiresAt` from the seconds it has left at `now`. */
export function liveRegistration(row: RegistrationRow, now: number): LiveRegistration {
  return {
    aor: row.aor,
    contact: row.contact,
    source: row.flow.source,
    transport: row.flow.transport,
    mode: row.mode,
    registeredAt: iso(row.registeredAt),
    expiresAt: iso(now + row.expiresSec * 1000),
    instanceId: row.instanceId,
    ...(row.userAgent === null ? {} : { userAgent: row.userAgent }),
  };
}

function liveStream(s: MediaSessionRow['streams'][number]): LiveStream {
  const q = s.quality;
  const direction = (d: NonNullable<typeof q>['aToB']) => ({
    ...(d.report === undefined ? {} : { lossPercent: d.report.lossPercent, jitterMs: d.report.jitterMs }),
    ...(d.mos === undefined ? {} : { mos: d.mos }),
  });
  return {
    index: s.index,
    media: s.media,
    sides: s.sides.map((side) => ({
      interface: side.interface,
      role: side.role,
      local: endpoint(side.local),
      peer: endpoint(side.peer),
    })),
    aToB: s.counters?.aToB ?? null,
    bToA: s.counters?.bToA ?? null,
    dropped: s.counters?.dropped ?? 0,
    quality:
      q === undefined
        ? null
        : {
            aToB: direction(q.aToB),
            bToA: direction(q.bToA),
            ...(q.rttMs === undefined ? {} : { rttMs: q.rttMs }),
            oneWay: q.oneWay,
          },
  };
}

/** A call with the streams of its media session, if it has one. */
export function liveCall(call: CallRow, session: MediaSessionRow | undefined): LiveCall {
  return {
    callId: call.callId,
    from: call.from,
    to: call.to,
    direction: call.direction,
    state: call.state,
    startedAt: call.startedAt,
    answeredAt: call.answeredAt,
    streams: (session?.streams ?? []).slice(0, 16).map(liveStream),
  };
}

/** A call's SIP trace as the wire shows it; `found: false` when the agent keeps none. */
export function ladderResult(callId: string, view: CallTraceView | undefined): LadderResult {
  if (view === undefined) return { callId, found: false, messages: [], dropped: 0, truncated: false };
  return {
    callId: view.callId,
    found: true,
    messages: view.messages.map((m) => ({
      at: iso(m.at),
      direction: m.direction,
      interface: m.interface,
      role: m.role,
      transport: m.transport,
      peer: m.peer,
      callId: m.callId,
      method: m.method,
      status: m.status,
      reason: m.reason,
      cseqMethod: m.cseqMethod,
      text: m.text,
      truncated: m.truncated,
    })),
    dropped: view.dropped,
    truncated: false,
  };
}
