import type { SipRequest, SipResponse } from '../sip/message.js';
import type { SendFailureSink } from '../transport/channels.js';
import { TransportError } from '../transport/transport-error.js';
import { DelayQueue, type Expirable } from '../util/delay-queue.js';
import type {
  ServerChannel,
  ServerTransaction,
  ServerTransactionEvents,
  RespondOptions,
  ServerTransactionState,
  TransactionContext,
} from './types.js';

const NO_EVENTS: ServerTransactionEvents = {};

/**
 * Non-INVITE server transaction (RFC 3261 §17.2.2).
 *
 *   Trying     ──1xx──▶ Proceeding   (request retransmit in Trying: discarded)
 *   Trying/Proceeding ──final──▶ Completed (Timer J)   (retransmit → resend last response)
 *   Completed  ──J────▶ Terminated
 *
 * Built for volume (every REGISTER is one): no per-transaction logger, closure or timer. Timer J
 * goes on the layer's shared {@link DelayQueue}; log lines carry the transaction's fields.
 */
export class ServerNonInviteTransaction implements ServerTransaction, Expirable, SendFailureSink {
  readonly kind = 'server-non-invite' as const;
  private current: ServerTransactionState = 'trying';
  private last: SipResponse | undefined;

  constructor(
    readonly request: SipRequest,
    private readonly channel: ServerChannel,
    private readonly ctx: TransactionContext,
    private readonly events: ServerTransactionEvents = NO_EVENTS,
  ) {}

  get state(): ServerTransactionState {
    return this.current;
  }

  get lastStatus(): number {
    return this.last?.status ?? 0;
  }

  get lastToTag(): string | undefined {
    return this.last?.to.tag;
  }

  /** A retransmission of the request (same key). */
  receiveRequest(_request: SipRequest): void {
    // §17.2.2: Trying discards retransmissions; Proceeding/Completed resend the last response.
    if ((this.current === 'proceeding' || this.current === 'completed') && this.last !== undefined) {
      this.transmit(this.last);
    }
  }

  respond(response: SipResponse, options?: RespondOptions): void {
    if (this.current !== 'trying' && this.current !== 'proceeding') {
      this.ctx.logger.warn(
        { ...this.logFields(), status: response.status, state: this.current },
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
    this.events.onAnswered?.();
    if (options?.stateless === true) {
      // §8.2.7: nothing kept to absorb retransmissions; a retransmitted request is answered anew.
      this.terminate();
      return;
    }
    // §17.2.2: Timer J = 64·T1 on unreliable transports (absorbs retransmits), 0 on reliable ones.
    // The layer may take that job over with a compact record and forget this object.
    if (this.ctx.timers.timerJ > 0 && this.events.onCompleted?.(response, this.channel) === true) return;
    (this.ctx.timerJ ?? new DelayQueue(this.ctx.clock, this.ctx.timers.timerJ)).add(this);
  }

  /** Timer J fired (only meaningful while Completed). */
  expire(): void {
    if (this.current === 'completed') this.terminate();
  }

  private transmit(response: SipResponse): void {
    if (this.channel.postResponse !== undefined) {
      this.channel.postResponse(response, this);
      return;
    }
    this.channel.sendResponse(response).catch((e: unknown) => this.sendFailed(e));
  }

  /** §17.2.4: a transport failure while sending a response ends the transaction. */
  sendFailed(e: unknown): void {
    if (this.current === 'terminated') return;
    this.ctx.logger.warn({ ...this.logFields(), err: e }, 'sending response failed');
    this.events.onFailure?.('transport-error', e instanceof TransportError ? e : undefined);
    this.terminate();
  }

  terminate(): void {
    if (this.current === 'terminated') return;
    this.current = 'terminated';
    this.events.onTerminated?.();
  }

  private logFields(): object {
    return { transaction: 'nist', callId: this.request.callId, branch: this.request.via[0]?.branch };
  }
}
