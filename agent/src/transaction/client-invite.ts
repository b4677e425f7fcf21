import type { Logger } from 'pino';
import { createResponse } from '../sip/build.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import { buildAckForNon2xx } from './build-ack.js';
import { DelayQueue } from '../util/delay-queue.js';
import { keptLogIds, type LogIds, logIdsOf } from './log-ids.js';
import { TimerSlots } from './timer-slots.js';
import type {
  ClientChannel,
  ClientTransaction,
  ClientTransactionState,
  ClientTransactionUser,
  TransactionContext,
} from './types.js';

type Timer = 'A' | 'B' | 'D';

/**
 * INVITE client transaction (RFC 3261 §17.1.1, with the RFC 6026 §7.2 "Accepted" state).
 *
 *   Calling ──Timer A──▶ Calling (retransmit; A doubles, no cap)   [unreliable only]
 *   Calling/Proceeding ──Timer B──▶ Terminated (synthetic 408 to the TU)
 *   Calling/Proceeding ──1xx──▶ Proceeding (to TU)
 *   Calling/Proceeding ──2xx──▶ Accepted (to TU; Timer M; further 2xx to TU)
 *   Calling/Proceeding ─3-6xx─▶ Completed (ACK sent, to TU; Timer D; retransmits → ACK again)
 */
export class ClientInviteTransaction implements ClientTransaction {
  readonly kind = 'client-invite' as const;
  private current: ClientTransactionState = 'calling';
  private readonly timers: TimerSlots<Timer>;
  private timerAInterval: number;
  private ack: SipRequest | undefined;
  /**
   * Once Accepted, what logs name instead of the INVITE: nothing is sent from Accepted (RFC 6026
   * §7.2) and the transaction waits out Timer M (64·T1) there, so it keeps no message.
   */
  private accepted: LogIds | undefined;

  /** The INVITE as sent, and where it goes; `undefined` once Accepted. */
  private request: SipRequest | undefined;
  private channel: ClientChannel | undefined;

  constructor(
    request: SipRequest,
    channel: ClientChannel,
    private readonly ctx: TransactionContext,
    private readonly user: ClientTransactionUser,
    private readonly onTerminated: () => void = () => {},
  ) {
    this.request = request;
    this.channel = channel;
    this.timers = new TimerSlots(ctx.clock);
    this.timerAInterval = ctx.timers.timerA;
  }

  /** The transaction's logger, made only when something is logged (a child per transaction costs). */
  private get log(): Logger {
    const ids = this.accepted ?? logIdsOf(this.request!);
    return this.ctx.logger.child({ transaction: 'ict', callId: ids.callId, branch: ids.branch });
  }

  get state(): ClientTransactionState {
    return this.current;
  }

  /** Sends the INVITE and arms Timers A (unreliable only) and B. */
  start(): void {
    this.transmit(this.request!);
    if (!this.channel!.reliable) this.startTimerA();
    this.timers.start('B', this.ctx.timers.timerB, () => {
      if (this.current !== 'calling' && this.current !== 'proceeding') return;
      // §17.1.1.2: Timer B → inform the TU of a timeout (a 408, §8.1.3.1).
      this.log.info('Timer B fired: INVITE timed out');
      this.user.onResponse(createResponse(this.request!, 408, 'Request Timeout'), 'timeout');
      this.terminate();
    });
  }

  private startTimerA(): void {
    this.timers.start('A', this.timerAInterval, () => {
      if (this.current !== 'calling') return;
      this.transmit(this.request!);
      this.timerAInterval *= 2; // §17.1.1.2: A doubles each time, with no T2 cap for INVITE.
      this.startTimerA();
    });
  }

  receiveResponse(response: SipResponse): void {
    const status = response.status;
    switch (this.current) {
      case 'calling':
      case 'proceeding':
        this.timers.stop('A');
        if (status < 200) {
          this.current = 'proceeding';
          this.user.onResponse(response);
          return;
        }
        this.timers.stop('B');
        if (status < 300) {
          this.current = 'accepted';
          // RFC 6026 §7.2: nothing is sent from Accepted; keep what logs need, not the message.
          this.accepted = keptLogIds(this.request!);
          this.request = undefined;
          this.channel = undefined;
          // Timer M: the same 64·T1 for every ICT, so one shared schedule (no clock timer each).
          (this.ctx.timerM ?? new DelayQueue(this.ctx.clock, this.ctx.timers.timerM)).add(this);
          this.user.onResponse(response);
          return;
        }
        this.current = 'completed';
        this.ack = buildAckForNon2xx(this.request!, response);
        this.transmit(this.ack);
        this.timers.start('D', this.ctx.timers.timerD, () => this.terminate());
        this.user.onResponse(response);
        return;
      case 'accepted':
        // RFC 6026 §7.2: 2xx retransmissions (and 2xx from other forks) go to the TU.
        if (status >= 200 && status < 300) this.user.onResponse(response);
        return;
      case 'completed':
        // §17.1.1.2: a retransmitted final response gets the ACK again, not passed up.
        if (status >= 300 && this.ack !== undefined) this.transmit(this.ack);
        return;
      default:
        return;
    }
  }

  /** Timer M fired (only meaningful while Accepted). */
  expire(): void {
    if (this.current === 'accepted') this.terminate();
  }

  private transmit(request: SipRequest): void {
    this.channel!.sendRequest(request).catch((e: unknown) => {
      if (this.current === 'terminated' || this.current === 'completed' || this.current === 'accepted')
        return;
      // §17.1.4 + §8.1.3.1: a transport failure is reported as a 503.
      this.log.warn({ err: e }, 'sending INVITE failed');
      this.user.onResponse(createResponse(this.request!, 503, 'Service Unavailable'), 'transport-error');
      this.terminate();
    });
  }

  terminate(): void {
    if (this.current === 'terminated') return;
    this.current = 'terminated';
    this.timers.stopAll();
    this.onTerminated();
  }
}
