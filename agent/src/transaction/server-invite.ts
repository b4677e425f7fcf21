import type { SipRequest, SipResponse } from '../sip/message.js';
import { TransportError } from '../transport/transport-error.js';
import { shellOf } from '../sip/edit.js';
import { DelayQueue } from '../util/delay-queue.js';
import { detachString } from '../util/detach-string.js';
import { TimerSlots } from './timer-slots.js';
import type {
  ServerChannel,
  ServerTransaction,
  ServerTransactionEvents,
  ServerTransactionState,
  TransactionContext,
} from './types.js';

type Timer = 'G' | 'H' | 'I';

/**
 * INVITE server transaction (RFC 3261 §17.2.1, with the RFC 6026 §7.1 "Accepted" state).
 *
 *   Proceeding ──1xx──▶ Proceeding          (INVITE retransmit → resend last 1xx)
 *   Proceeding ──2xx──▶ Accepted  (Timer L)  (INVITE retransmit absorbed; TU retransmits 2xx itself)
 *   Proceeding ─3-6xx─▶ Completed (G, H)     (INVITE retransmit / Timer G → resend final)
 *   Completed  ──ACK──▶ Confirmed (Timer I)  (ACKs absorbed)
 *   Completed  ──H────▶ Terminated (+ onFailure 'timeout')
 */
export class ServerInviteTransaction implements ServerTransaction {
  readonly kind = 'server-invite' as const;
  private current: ServerTransactionState = 'proceeding';
  /** Kept for resending (Proceeding, Completed); not in Accepted, where nothing is resent. */
  private last: SipResponse | undefined;
  private status = 0;
  private toTag: string | undefined;
  private readonly timers: TimerSlots<Timer>;
  private timerGInterval: number;

  constructor(
    /** The INVITE; only its routing fields once Accepted ({@link shellOf}). */
    public request: SipRequest,
    private readonly channel: ServerChannel,
    private readonly ctx: TransactionContext,
    private readonly events: ServerTransactionEvents = {},
  ) {
    this.timers = new TimerSlots(ctx.clock);
    this.timerGInterval = ctx.timers.timerG;
  }

  get state(): ServerTransactionState {
    return this.current;
  }

  get lastStatus(): number {
    return this.status;
  }

  get lastToTag(): string | undefined {
    return this.toTag;
  }

  /** Called by the layer for a retransmitted INVITE (same transaction key). */
  receiveRequest(_request: SipRequest): void {
    // §17.2.1: in Proceeding resend the most recent provisional; in Completed the final.
    // RFC 6026 §7.1: in Accepted the retransmission is absorbed (the TU/core resends 2xx).
    if ((this.current === 'proceeding' || this.current === 'completed') && this.last !== undefined) {
      this.transmit(this.last);
    }
  }

  /** Called by the layer for an ACK matching this transaction (i.e. for our non-2xx final). */
  receiveAck(_ack: SipRequest): void {
    if (this.current !== 'completed') return; // Confirmed: absorb ACK retransmissions.
    this.current = 'confirmed';
    this.timers.stop('G');
    this.timers.stop('H');
    this.ctx.logger.debug(this.logFields(), 'ACK received: confirmed');
    this.timers.start('I', this.ctx.timers.timerI, () => this.terminate());
  }

  respond(response: SipResponse): void {
    const status = response.status;
    if (this.current === 'proceeding') {
      this.last = response;
      this.status = status;
      this.toTag = response.to.tag;
      this.transmit(response);
      if (status < 200) return;
      if (status < 300) {
        // RFC 6026 §7.1: 2xx moves to Accepted; Timer L bounds how long retransmits are absorbed.
        // Nothing is resent from here (the TU passes 2xx retransmissions), so the response is
        // not kept: at thousands of calls/s, 32 s of answered INVITEs is most of the heap.
        this.current = 'accepted';
        this.last = undefined;
        this.request = shellOf(this.request);
        // Cut from the response's text: detached, so that text can go too.
        if (this.toTag !== undefined) this.toTag = detachString(this.toTag);
        this.events.onAnswered?.();
        // Timer L: every IST waits the same 64·T1, so they share one schedule (no clock timer each).
        (this.ctx.timerL ?? new DelayQueue(this.ctx.clock, this.ctx.timers.timerL)).add(this);
        return;
      }
      this.current = 'completed';
      this.events.onAnswered?.();
      if (!this.channel.reliable) this.startTimerG();
      this.timers.start('H', this.ctx.timers.timerH, () => {
        // §17.2.1: Timer H fires → no ACK arrived; inform the TU.
        this.ctx.logger.info(this.logFields(), 'Timer H fired: no ACK for final response');
        this.events.onFailure?.('timeout');
        this.terminate();
      });
      return;
    }
    if (this.current === 'accepted' && status >= 200 && status < 300) {
      // RFC 6026 §7.1: 2xx retransmissions from the TU pass through in Accepted.
      this.transmit(response);
      return;
    }
    this.ctx.logger.warn(
      { ...this.logFields(), status, state: this.current },
      'response ignored: transaction already answered',
    );
  }

  /** Timer L fired (only meaningful while Accepted). */
  expire(): void {
    if (this.current === 'accepted') this.terminate();
  }

  private startTimerG(): void {
    this.timers.start('G', this.timerGInterval, () => {
      if (this.current !== 'completed' || this.last === undefined) return;
      this.transmit(this.last);
      // §17.2.1: Timer G doubles each time, capped at T2.
      this.timerGInterval = Math.min(2 * this.timerGInterval, this.ctx.timers.t2);
      this.startTimerG();
    });
  }

  private transmit(response: SipResponse): void {
    this.channel.sendResponse(response).catch((e: unknown) => {
      if (this.current === 'terminated') return;
      // §17.2.4: a transport failure while sending a response is reported to the TU.
      this.ctx.logger.warn({ ...this.logFields(), err: e }, 'sending response failed');
      this.events.onFailure?.('transport-error', e instanceof TransportError ? e : undefined);
      this.terminate();
    });
  }

  /** Ends the transaction at once (layer shutdown, or a timer path). */
  terminate(): void {
    if (this.current === 'terminated') return;
    this.current = 'terminated';
    this.timers.stopAll();
    this.events.onTerminated?.();
  }

  private logFields(): object {
    return { transaction: 'ist', callId: this.request.callId, branch: this.request.via[0]?.branch };
  }
}
