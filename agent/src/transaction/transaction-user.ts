import type { SipRequest, SipResponse } from '../sip/message.js';
import type { InboundContext } from '../transport/channels.js';
import type { ServerTransaction } from './types.js';

export type { InboundContext, InboundRequest, InboundResponse } from '../transport/channels.js';

/**
 * The seam between the transaction layer and whatever uses it (core, registrar, proxy), as in
 * SIP.js's TransactionUser. Client-side callbacks are bound per request
 * (`ClientTransactionUser`), so responses, the synthetic 408 (Timer B/F) and the synthetic
 * 503 (transport error) reach the code that sent the request.
 */
export interface TransactionUser {
  /**
   * A new request (retransmissions are absorbed below this seam). For a CANCEL, `cancels` is
   * the INVITE server transaction it matches (RFC 3261 §9.2) or `undefined` when none does.
   * The TU must eventually `respond` with a final response.
   */
  onRequest(
    request: SipRequest,
    transaction: ServerTransaction,
    context: InboundContext,
    related: { readonly cancels?: ServerTransaction | undefined },
  ): void;
  /** An ACK matching no server transaction (ACK for a 2xx, §17.2.3 / §13.2.2.4). */
  onStrayAck?(ack: SipRequest, context: InboundContext): void;
  /** A response matching no client transaction (a proxy forwards it statelessly, §16.7/§18.1.2). */
  onStrayResponse?(response: SipResponse, context: InboundContext): void;
  /** A server transaction failed: Timer H (no ACK) or its response could not be sent (§17.2.4). */
  onServerTransactionFailure?(transaction: ServerTransaction, cause: 'timeout' | 'transport-error'): void;
}
