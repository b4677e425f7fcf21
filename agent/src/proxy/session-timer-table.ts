/**
 * The proxy's RFC 4028 session timers, one per dialog: armed by every 2xx that establishes or
 * refreshes the session (`onResponse` → `track`), disarmed by BYE, by a 2xx that turns the timer
 * off and when the call ends; calls `onExpired` once when no refresh came in time.
 */
import type { SipMessage } from '../sip/message.js';
import type { Clock, TimerHandle } from '../util/clock.js';

/**
 * Longest delay one clock timer may be given: Node's `setTimeout` fires at once for anything
 * above 2^31 − 1 ms (~24.8 days), and Session-Expires goes up to 2^32 − 1 s. Longer deadlines
 * are reached in hops of at most this.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Key of a dialog for the table: Call-ID and both tags, the tags in sorted order so a request
 * from either end (From and To swapped) gives the same key. Newlines cannot occur in header
 * values (folds become SP), so they separate the parts unambiguously.
 */
export function sessionTimerKey(callId: string, tagA: string, tagB: string): string {
  return tagA <= tagB ? `${callId}\n${tagA}\n${tagB}` : `${callId}\n${tagB}\n${tagA}`;
}

/**
 * The key of the dialog a message belongs to (a 2xx or an in-dialog request); `undefined`
 * without both tags (not yet, or not, in a dialog). Call-ID as the message carries it: the
 * proxy must key with messages from one side of the firewall (hiding masks the Call-ID).
 */
export function sessionTimerKeyOf(msg: SipMessage): string | undefined {
  const from = msg.from.tag;
  const to = msg.to.tag;
  if (from === undefined || to === undefined) return undefined;
  return sessionTimerKey(msg.callId, from, to);
}

interface Entry {
  /** When the session expires (clock ms). */
  due: number;
  /** The clock timer's own due time; it may be earlier than `due` (re-armed lazily). */
  handleDue: number;
  handle: TimerHandle;
}

/**
 * Session expiry per dialog on the injected clock. One clock timer per dialog; `arm` and
 * `disarm` are O(1). A refresh that moves the deadline later does not touch the clock timer:
 * when it fires early it re-arms for the rest (refreshes arrive every interval/2, so that is one
 * timer operation per refresh at most, not a clear and a set).
 *
 * Expiry instant: the session expires `intervalSec` after the last 2xx that armed it (RFC 4028
 * §3, §10: the session interval runs from the 2xx of the last refresh). The proxy acts at that
 * instant, not earlier: the non-refreshing UA sends its own BYE `min(32 s, interval/3)` before
 * (§10), so a well-behaved call has ended by then; §8.3 lets a proxy act (remove call state,
 * free resources — and, unlike a UA, never send a BYE) once the session has expired.
 *
 * @example
 * const table = new SessionTimerTable(clock, (key) => calls.expire(key));
 * table.arm(sessionTimerKeyOf(ok200)!, 1800); // on every 2xx that tracks
 * table.disarm(key); // on BYE
 */
export class SessionTimerTable {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly onExpired: (dialogKey: string) => void,
  ) {}

  /** Dialogs with a running timer. */
  get size(): number {
    return this.entries.size;
  }

  /** When the dialog's session expires (clock ms), or `undefined` when not armed. */
  deadline(dialogKey: string): number | undefined {
    return this.entries.get(dialogKey)?.due;
  }

  /**
   * (Re)starts the dialog's session timer: it expires `intervalSec` from now, replacing any
   * earlier deadline, later or sooner. Throws on a negative or non-finite interval (a caller bug).
   */
  arm(dialogKey: string, intervalSec: number): void {
    if (!Number.isFinite(intervalSec) || intervalSec < 0)
      throw new Error('session timer: interval must be a finite number of seconds ≥ 0');
    const now = this.clock.now();
    const due = now + intervalSec * 1000;
    const entry = this.entries.get(dialogKey);
    if (entry === undefined) {
      const handleDue = Math.min(due, now + MAX_TIMER_MS);
      this.entries.set(dialogKey, { due, handleDue, handle: this.schedule(dialogKey, handleDue - now) });
      return;
    }
    entry.due = due;
    // A clock timer that fires no later than the new deadline stays: it re-arms when it fires.
    if (entry.handleDue <= due) return;
    this.clock.clearTimeout(entry.handle);
    entry.handleDue = Math.min(due, now + MAX_TIMER_MS);
    entry.handle = this.schedule(dialogKey, entry.handleDue - now);
  }

  /** Stops the dialog's timer (BYE, call ended, timer turned off); true when one was running. */
  disarm(dialogKey: string): boolean {
    const entry = this.entries.get(dialogKey);
    if (entry === undefined) return false;
    this.clock.clearTimeout(entry.handle);
    this.entries.delete(dialogKey);
    return true;
  }

  /** Stops every timer without expiring any (shutdown). */
  clear(): void {
    for (const entry of this.entries.values()) this.clock.clearTimeout(entry.handle);
    this.entries.clear();
  }

  private schedule(dialogKey: string, ms: number): TimerHandle {
    return this.clock.setTimeout(() => this.fire(dialogKey), Math.max(0, ms));
  }

  private fire(dialogKey: string): void {
    const entry = this.entries.get(dialogKey);
    if (entry === undefined) return;
    const now = this.clock.now();
    if (now < entry.due) {
      // Refreshed since this timer was set (or a hop of a very long interval): wait the rest.
      entry.handleDue = Math.min(entry.due, now + MAX_TIMER_MS);
      entry.handle = this.schedule(dialogKey, entry.handleDue - now);
      return;
    }
    // Gone before the callback runs: it may re-arm the same key (a new timer) or disarm (no-op).
    this.entries.delete(dialogKey);
    this.onExpired(dialogKey);
  }
}
