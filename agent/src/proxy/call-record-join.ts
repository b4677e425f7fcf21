import type { MediaSessionSummary } from '../media/sessions.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { toCallRecord } from './call-records.js';
import type { Call } from './calls.js';

export type CallRecord = ReturnType<typeof toCallRecord>;

export interface CallRecordJoinOptions {
  /** How long an ended call waits for its media totals (read from the driver after the call ends). */
  readonly waitMs: number;
  /** How long media totals of a session that ended before its call are kept for that call. */
  readonly keepMediaMs: number;
  /** Media totals kept at most (oldest go first), so memory stays bounded. */
  readonly maxKeptMedia: number;
}

export const DEFAULT_CALL_RECORD_JOIN: CallRecordJoinOptions = {
  waitMs: 2000,
  keepMediaMs: 60_000,
  maxKeptMedia: 10_000,
};

/**
 * Joins an ended call with its media session's totals into one call record. The proxy ends the call
 * first and the media layer reports the session's counters a moment later (or earlier, when the
 * session hit its own limit), so each side waits a bounded time for the other; a call without
 * media goes out without the `media` field once `waitMs` has passed.
 */
export class CallRecordJoin {
  private readonly calls = new Map<string, { call: Call; timer: TimerHandle }>();
  private readonly media = new Map<string, { summary: MediaSessionSummary; timer: TimerHandle }>();

  constructor(
    private readonly options: CallRecordJoinOptions,
    private readonly clock: Clock,
    private readonly newId: () => string,
    private readonly emit: (record: CallRecord) => void,
  ) {}

  callEnded(call: Call): void {
    const kept = this.media.get(call.callId);
    if (kept !== undefined) {
      this.clock.clearTimeout(kept.timer);
      this.media.delete(call.callId);
      this.emit(toCallRecord(call, this.newId(), kept.summary));
      return;
    }
    this.emitCall(call.callId); // another call with this Call-ID still waiting: it goes now
    const timer = this.clock.setTimeout(() => this.emitCall(call.callId), this.options.waitMs);
    this.calls.set(call.callId, { call, timer });
  }

  mediaEnded(summary: MediaSessionSummary): void {
    const waiting = this.calls.get(summary.callId);
    if (waiting !== undefined) {
      this.clock.clearTimeout(waiting.timer);
      this.calls.delete(summary.callId);
      this.emit(toCallRecord(waiting.call, this.newId(), summary));
      return;
    }
    this.forgetMedia(summary.callId);
    if (this.media.size >= this.options.maxKeptMedia) this.forgetMedia(this.media.keys().next().value!);
    const timer = this.clock.setTimeout(() => this.forgetMedia(summary.callId), this.options.keepMediaMs);
    this.media.set(summary.callId, { summary, timer });
  }

  /** Emits every waiting call as it is (at shutdown). */
  flush(): void {
    for (const callId of [...this.calls.keys()]) this.emitCall(callId);
    for (const callId of [...this.media.keys()]) this.forgetMedia(callId);
  }

  private emitCall(callId: string): void {
    const waiting = this.calls.get(callId);
    if (waiting === undefined) return;
    this.clock.clearTimeout(waiting.timer);
    this.calls.delete(callId);
    this.emit(toCallRecord(waiting.call, this.newId()));
  }

  private forgetMedia(callId: string): void {
    const kept = this.media.get(callId);
    if (kept === undefined) return;
    this.clock.clearTimeout(kept.timer);
    this.media.delete(callId);
  }
}
