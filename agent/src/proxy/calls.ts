import { detachString } from '../util/detach-string.js';

/** Who or what ended an answered call (`CallRecordSchema.endReason`). */
export type CallEndReason = 'bye-caller' | 'bye-callee' | 'session-expired' | 'lifetime' | 'agent';

/** The SIP codes a call record keeps, at most. */
export const MAX_CALL_CODES = 16;

/** Which way a call crosses the firewall. */
export type CallDirection = 'inbound' | 'outbound' | 'internal';

/** One call through the agent (an INVITE that started a dialog, or tried to), for monitoring. */
export interface Call {
  readonly callId: string;
  /** The caller's From tag: with the Call-ID, the call's key. */
  readonly fromTag: string;
  readonly from: string;
  readonly to: string;
  readonly direction: CallDirection;
  /** Users holding admission slots for this call. */
  readonly users: readonly string[];
  readonly startedAt: number;
  answeredAt: number | undefined;
  /** The callee's tag once answered. */
  toTag: string | undefined;
  endedAt: number | undefined;
  status: number | undefined;
  /** Why an answered call ended. */
  endReason: CallEndReason | undefined;
  /** The caller cancelled the INVITE. */
  cancelled: boolean;
  /** SIP codes of the INVITE's branches (above 100), in arrival order, at most `MAX_CALL_CODES`. */
  readonly codes: number[];
}

/** What the admin API shows of an active call. */
export interface CallRow {
  readonly callId: string;
  readonly from: string;
  readonly to: string;
  readonly direction: CallDirection;
  readonly state: 'early' | 'confirmed';
  readonly startedAt: string;
  readonly answeredAt: string | null;
  readonly durationSec: number;
}

export interface CallEvents {
  onStarted(call: Call): void;
  onAnswered(call: Call): void;
  /** The call ended (BYE, failure, CANCEL or the lifetime limit); its admission slots are free. */
  onEnded(call: Call): void;
}

/**
 * Active calls keyed by Call-ID and caller tag, each ended exactly once. A call that never sees
 * its BYE (a phone lost power) ends after `maxLifetimeMs`, so slots and memory cannot leak.
 */
export class CallTable {
  private readonly calls = new Map<string, Call>();

  constructor(
    private readonly events: CallEvents,
    private readonly maxLifetimeMs: number,
  ) {}

  get size(): number {
    return this.calls.size;
  }

  start(
    call: Omit<Call, 'answeredAt' | 'toTag' | 'endedAt' | 'status' | 'endReason' | 'cancelled' | 'codes'>,
  ): Call {
    // The strings come cut from the INVITE's text: a call kept for its whole duration must not
    // keep that text alive. A literal, not a spread of `call`: a spread copy gets a hidden class
    // (map and descriptors, ~430 bytes) of its own, per call.
    const full: Call = {
      callId: detachString(call.callId),
      fromTag: detachString(call.fromTag),
      from: detachString(call.from),
      to: detachString(call.to),
      direction: call.direction,
      users: call.users,
      startedAt: call.startedAt,
      answeredAt: undefined,
      toTag: undefined,
      endedAt: undefined,
      status: undefined,
      endReason: undefined,
      cancelled: false,
      codes: [],
    };
    this.calls.set(key(call.callId, call.fromTag), full);
    this.events.onStarted(full);
    return full;
  }

  answered(call: Call, toTag: string | undefined, now: number): void {
    if (call.answeredAt !== undefined || call.endedAt !== undefined) return;
    call.answeredAt = now;
    call.toTag = toTag === undefined ? undefined : detachString(toTag);
    this.events.onAnswered(call);
  }

  /** Notes a SIP code a branch of the call's INVITE received. */
  code(call: Call, status: number): void {
    if (status > 100 && call.codes.length < MAX_CALL_CODES) call.codes.push(status);
  }

  /** Ends `call` (once). */
  end(call: Call, status: number, now: number, reason?: CallEndReason): void {
    if (call.endedAt !== undefined) return;
    call.endedAt = now;
    call.status = status;
    if (call.answeredAt !== undefined) call.endReason = reason ?? 'agent';
    this.calls.delete(key(call.callId, call.fromTag));
    this.events.onEnded(call);
  }

  /** The call an in-dialog request belongs to: its tags in either order (caller or callee sent it). */
  find(callId: string, fromTag: string | undefined, toTag: string | undefined): Call | undefined {
    if (fromTag !== undefined) {
      const c = this.calls.get(key(callId, fromTag));
      if (c !== undefined) return c;
    }
    return toTag === undefined ? undefined : this.calls.get(key(callId, toTag));
  }

  /**
   * Ends every call because the agent stops (`agent`): answered calls as 200, calls still ringing
   * as 503, so each still gets its record; a call that outlives a restart has lost its state here.
   */
  endAll(now: number): void {
    for (const c of [...this.calls.values()])
      this.end(c, c.answeredAt === undefined ? 503 : 200, now, 'agent');
  }

  /** Ends calls older than the lifetime limit. */
  sweep(now: number): void {
    for (const c of [...this.calls.values()]) {
      if (now - c.startedAt > this.maxLifetimeMs)
        this.end(c, c.answeredAt === undefined ? 408 : 200, now, 'lifetime');
    }
  }

  rows(now: number, limit: number): CallRow[] {
    const out: CallRow[] = [];
    for (const c of this.calls.values()) {
      if (out.length >= limit) break;
      out.push({
        callId: c.callId,
        from: c.from,
        to: c.to,
        direction: c.direction,
        state: c.answeredAt === undefined ? 'early' : 'confirmed',
        startedAt: new Date(c.startedAt).toISOString(),
        answeredAt: c.answeredAt === undefined ? null : new Date(c.answeredAt).toISOString(),
        durationSec: Math.round((now - (c.answeredAt ?? c.startedAt)) / 1000),
      });
    }
    return out;
  }
}

function key(callId: string, tag: string): string {
  return `${callId}\u0000${tag}`;
}
