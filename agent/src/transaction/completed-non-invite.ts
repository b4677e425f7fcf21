import type { Resender, SendFailureSink } from '../transport/channels.js';
import type { Expirable } from '../util/delay-queue.js';

/** Told when a {@link CompletedNonInvite} is done (Timer J fired or its resend failed). */
export interface CompletedOwner {
  completedEnded(key: string, record: CompletedNonInvite): void;
}

/**
 * What is left of a non-INVITE server transaction in Completed on an unreliable transport
 * (RFC 3261 §17.2.2): its one remaining job is to resend the final response for every
 * retransmission of the request until Timer J (64·T1 = 32 s) ends it. At a few thousand
 * REGISTERs per second that is ~100,000 transactions at any time, so this keeps only the key,
 * the response's bytes and destination and (RFC 2543 matching only) the request's To tag,
 * not the parsed request and response (~17 KB each with their strings and buffers).
 */
export class CompletedNonInvite implements Expirable, SendFailureSink {
  readonly kind = 'completed-non-invite' as const;

  constructor(
    readonly key: string,
    private readonly resender: Resender,
    /** RFC 2543 matching only (§17.2.3): the original request's To tag, '' for none; else undefined. */
    readonly rfc2543ToTag: string | undefined,
    private readonly owner: CompletedOwner,
  ) {}

  /** A retransmission of the request: §17.2.2, resend the final response. */
  absorb(): void {
    this.resender.resend(this);
  }

  /** Timer J. */
  expire(): void {
    this.owner.completedEnded(this.key, this);
  }

  /** §17.2.4: a transport failure ends the transaction. */
  sendFailed(_error: unknown): void {
    this.owner.completedEnded(this.key, this);
  }
}
