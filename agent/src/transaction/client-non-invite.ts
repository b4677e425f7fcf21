import type { Logger } from 'pino';
import { createResponse } from '../sip/build.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
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

type Timer = 'E' | 'F';

/**
 * Non-INVITE client transaction (RFC 3261 §17.1.2).
 *
 *   Trying ──Timer E──▶ Trying (retransmit; E = min(2E, T2))          [unreliable only]
 *   Trying ──1xx──▶ Proceeding (to TU; Timer E now fires every T2)
 *   Trying/Proceeding ──final──▶ Completed (to TU; Timer K; further responses absorbed)
 *   Trying/Proceeding ──Timer F──▶ Terminated (synthetic 408 to the TU)
 */
export class ClientNonInviteTransaction implements ClientTransaction {
  readonly kind = 'client-non-invite' as const;
  private current: ClientTransactionState = 'trying';
  private readonly timers: TimerSlots<Timer>;
  private timerEInterval: number;
  /**
   * Completed only absorbs response retransmissions for Timer K (§17.1.2.2): nothing is sent and
   * nothing goes to the TU any more, so the request, the channel and the TU (which may hold a
   * whole response context) are let go; the log keeps these names.
   */
  private completed: LogIds | undefined;
  private request: SipRequest | undefined;
  private channel: ClientChannel | undefined;
  private user: ClientTransactionUser | undefined;

  constructor(
    request: SipRequest,
    channel: ClientChannel,
    private readonly ctx: TransactionContext,
    user: ClientTransactionUser,
    private readonly onTerminated: () => void = () => {},
  ) {
    this.request = request;
    this.channel = channel;
    this.user = user;
    this.timers = new TimerSlots(ctx.clock);
    this.timerEInterval = ctx.timers.timerE;
  }

  /** The transaction's logger, made only when something is logged (a child per transaction costs). */
  private get log(): Logger {
    const ids = this.completed ?? logIdsOf(this.request!);
    return this.ctx.logger.child({ transaction: 'nict', callId: ids.callId, branch: ids.branch });
  }

  get state(): ClientTransactionState {
    return this.current;
  }

  start(): void {
    this.transmit();
    if (!this.channel!.reliable) this.startTimerE();
    this.timers.start('F', this.ctx.timers.timerF, () => {
      if (this.current !== 'trying' && this.current !== 'proceeding') return;
      // §17.1.2.2: Timer F → timeout reported to the TU as a 408 (§8.1.3.1).
      this.log.info('Timer F fired: request timed out');
      this.user!.onResponse(createResponse(this.request!, 408, 'Request Timeout'), 'timeout');
      this.terminate();
    });
  }

  private startTimerE(): void {
    this.timers.start('E', this.timerEInterval, () => {
      if (this.current !== 'trying' && this.current !== 'proceeding') return;
      this.transmit();
      // §17.1.2.2: in Trying E doubles up to T2; in Proceeding it fires every T2.
      this.timerEInterval =
        this.current === 'proceeding'
          ? this.ctx.timers.t2
          : Math.min(2 * this.timerEInterval, this.ctx.timers.t2);
      this.startTimerE();
    });
  }

  receiveResponse(response: SipResponse): void {
    if (this.current !== 'trying' && this.current !== 'proceeding') return; // Completed absorbs.
    if (response.status < 200) {
      this.current = 'proceeding';
      this.user!.onResponse(response);
      return;
    }
    this.current = 'completed';
    const user = this.user!;
    this.completed = keptLogIds(this.request!);
    this.request = undefined;
    this.channel = undefined;
    this.user = undefined;
    this.timers.stop('E');
    this.timers.stop('F');
    // Timer K: one delay per transport kind, so one shared schedule (no clock timer each).
    (this.ctx.timerK ?? new DelayQueue(this.ctx.clock, this.ctx.timers.timerK)).add(this);
    user.onResponse(response);
  }

  /** Timer K fired (only meaningful while Completed). */
  expire(): void {
    if (this.current === 'completed') this.terminate();
  }

  private transmit(): void {
    const request = this.request!;
    this.channel!.sendRequest(request).catch((e: unknown) => {
      if (this.current !== 'trying' && this.current !== 'proceeding') return;
      this.log.warn({ err: e }, 'sending request failed');
      this.user!.onResponse(createResponse(request, 503, 'Service Unavailable'), 'transport-error');
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
