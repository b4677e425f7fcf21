import type { Logger } from 'pino';
import type { SipRequest, SipResponse } from '../sip/message.js';
import type { ServerChannel } from '../transport/channels.js';
import type { TransportError } from '../transport/transport-error.js';
import type { Clock } from '../util/clock.js';
import type { DelayQueue, Expirable } from '../util/delay-queue.js';
import type { TimerValues } from './timers.js';

export type { ClientChannel, ServerChannel } from '../transport/channels.js';

/** What every machine needs: time, timer values for its transport, a logger with its tag. */
export interface TransactionContext {
  readonly clock: Clock;
  readonly timers: TimerValues;
  readonly logger: Logger;
  /**
   * Shared Timer J schedule (one clock timer for every NIST on this transport kind); its delay
   * must be `timers.timerJ`. Without it a transaction schedules its own.
   */
  readonly timerJ?: DelayQueue<Expirable>;
  /** Shared Timer K schedule (NICT Completed), delay `timers.timerK`; likewise optional. */
  readonly timerK?: DelayQueue<Expirable>;
  /** Shared Timer L schedule (IST Accepted, RFC 6026), delay `timers.timerL`; likewise optional. */
  readonly timerL?: DelayQueue<Expirable>;
  /** Shared Timer M schedule (ICT Accepted, RFC 6026), delay `timers.timerM`; likewise optional. */
  readonly timerM?: DelayQueue<Expirable>;
}

/** Why a client transaction ended without a real final response. */
export type SyntheticCause = 'timeout' | 'transport-error';

/** Callbacks a client transaction reports to; bound per request by whoever sent it. */
export interface ClientTransactionUser {
  /**
   * Every response the TU must see: provisional, final, and the synthetic 408 (Timer B/F,
   * §17.1.1.2/§17.1.2.2 + §8.1.3.1) or 503 (transport error, §8.1.3.1), flagged by `synthetic`.
   */
  onResponse(response: SipResponse, synthetic?: SyntheticCause): void;
}

/** Callbacks a server transaction reports to (besides the request itself, see TransactionUser). */
export interface ServerTransactionEvents {
  /** Timer H fired (no ACK for a non-2xx) or sending a response failed (§17.2.4). */
  onFailure?(cause: 'timeout' | 'transport-error', error?: TransportError): void;
  onTerminated?(): void;
  /** The first final response was handed to the transport (the TU's work is done). */
  onAnswered?(): void;
  /**
   * A non-INVITE transaction reached Completed and must absorb retransmissions until Timer J.
   * Returns `true` when the listener keeps a compact record that does this job instead (the
   * transaction is then forgotten: no Timer J, never terminated); `false` to keep the machine.
   */
  onCompleted?(response: SipResponse, channel: ServerChannel): boolean;
}

export type ServerTransactionState =
  | 'trying'
  | 'proceeding'
  | 'accepted'
  | 'completed'
  | 'confirmed'
  | 'terminated';
export type ClientTransactionState =
  | 'calling'
  | 'trying'
  | 'proceeding'
  | 'accepted'
  | 'completed'
  | 'terminated';

export interface RespondOptions {
  readonly stateless?: boolean;
}

/** What a TU may do with a server transaction. */
export interface ServerTransaction {
  readonly kind: 'server-invite' | 'server-non-invite';
  readonly request: SipRequest;
  readonly state: ServerTransactionState;
  /** Status of the last response passed to `respond`; 0 before the first. */
  readonly lastStatus: number;
  /** To tag of the last response passed to `respond` (the dialog's tag once a final went out). */
  readonly lastToTag: string | undefined;
  /**
   * Sends a response through the machine (which retransmits as §17.2 requires). With
   * `{ stateless: true }` a non-INVITE final response is sent as a stateless UAS would
   * (RFC 3261 §8.2.7, "generally used for issuing unauthenticated challenges"): the transaction
   * ends at once instead of waiting out Timer J, and a retransmitted request is handled anew.
   * INVITE transactions ignore the option.
   */
  respond(response: SipResponse, options?: RespondOptions): void;
}

export interface ClientTransaction {
  readonly kind: 'client-invite' | 'client-non-invite';
  readonly state: ClientTransactionState;
}
