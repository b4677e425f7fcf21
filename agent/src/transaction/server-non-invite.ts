import type { Logger } from 'pino';
import type { SipRequest, SipResponse } from '../sip/message.js';
import { TransportError } from '../transport/transport-error.js';
import { TimerSlots } from './timer-slots.js';
import type {
  ServerChannel,
  ServerTransaction,
  ServerTransactionEvents,
  ServerTransactionState,
  TransactionContext,
} from './types.js';

/**
 * Non-INVITE server transaction (RFC 3261 §17.2.2).
 *
 *   Trying     ──1xx──▶ Proceeding   (request retransmit in Trying: discarded)
 *   Trying/Proceeding ──final──▶ Completed (Timer J)   (retransmit → resend last response)
 *   Completed  ──J────▶ Terminated
 */
export class ServerNonInviteTransaction implements ServerTransaction {
  readonly kind = 'server-non-invite' as const;
  private current: ServerTransactionState = 'trying';
  private last: SipResponse | undefined;
  private readonly timers: TimerSlots<'J'>;
  private readonly log: Logger;

  constructor(
    readonly request: SipRequest,
    private readonly channel: ServerChannel,
    private readonly ctx: TransactionContext,
    private readonly events: ServerTransactionEvents = {},
  ) {
    this.timers = new TimerSlots(ctx.clock);
    this.log = ctx.logger.child({
      transaction: 'nist',
      callId: request.callId,
      branch: request.via[0]?.branch,
    });
  }

  get state(): ServerTransactionState {
    return this.current;
  }

  get lastResponse(): SipResponse | undefined {
    return this.last;
  }

  /** A retransmission of the request (same key). */
  receiveRequest(_request: SipRequest): void {
    // §17.2.2: Trying discards retransmissions; Proceeding/Completed resend the last response.
    if ((this.current === 'proceeding' || this.current === 'completed') && this.last !== undefined) {
      this.transmit(this.last);
    }
  }

  respond(response: SipResponse): void {
    if (this.current !== 'trying' && this.current !== 'proceeding') {
      this.log.warn(
        { status: response.status, state: this.current },
        'response ignored: transaction already answered',
      );
      return;
    }
    this.last = response;
    this.transmit(response);
    if (response.status < 200) {
      this.current = 'proceeding';
      return;
    }
    this.current = 'completed';
    // §17.2.2: Timer J = 64·T1 on unreliable transports (absorbs retransmits), 0 on reliable ones.
    this.timers.start('J', this.ctx.timers.timerJ, () => this.terminate());
  }

  private transmit(response: SipResponse): void {
    this.channel.sendResponse(response).catch((e: unknown) => {
      if (this.current === 'terminated') return;
      this.log.warn({ err: e }, 'sending response failed');
      this.events.onFailure?.('transport-error', e instanceof TransportError ? e : undefined);
      this.terminate();
    });
  }

  terminate(): void {
    if (this.current === 'terminated') return;
    this.current = 'terminated';
    this.timers.stopAll();
    this.events.onTerminated?.();
  }
}
