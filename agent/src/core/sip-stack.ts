import type { SipRequest, SipResponse } from '../sip/message.js';
import type { IdGenerator } from '../transaction/ids.js';
import type { ClientTransactionUser, ServerTransaction } from '../transaction/types.js';
import type { TransportProtocol } from '../transport/types.js';
import type { RequestHandlerRegistry } from './request-handlers.js';

/** One bound SIP listener. */
export interface SipListening {
  interface: string;
  /** `inside` faces the LAN phones, `outside` the Internet (config `sip.interfaces[].role`). */
  role: 'inside' | 'outside';
  transport: 'udp' | 'tcp' | 'tls';
  address: string;
  port: number;
}

/** Where a TU wants a request sent (the transport layer picks the socket). */
export interface SipSendTarget {
  readonly protocol: TransportProtocol;
  readonly destination: { readonly address: string; readonly port: number };
  /** Interface to send from; the first with that protocol when absent. */
  readonly interfaceName?: string;
  /**
   * Stay on `protocol` even past the UDP size rule (§18.1.1): the destination is a flow (a phone
   * behind NAT reachable only where it registered from), which a new TCP connection cannot reach.
   */
  readonly pinned?: boolean;
}

/**
 * What TU modules (registrar, later the proxy) get from the SIP service, handed over before any
 * listener binds so no request can arrive ahead of its handler.
 */
export interface SipStack {
  readonly handlers: RequestHandlerRegistry;
  readonly ids: IdGenerator;
  /** Ends a server transaction without any response (blocked sources, scanners). */
  drop(transaction: ServerTransaction): void;
  /**
   * Sends a request in a client transaction (RFC 3261 §17.1). The request's top Via must carry a
   * fresh branch. Responses, and the synthetic 408/503, go to `user`.
   * @throws {Error} when no listener is bound yet (call after the service started).
   */
  sendRequest(request: SipRequest, target: SipSendTarget, user: ClientTransactionUser): void;
  /** Sends a request once, outside any transaction (ACK for a 2xx, stateless forwarding). */
  sendStateless(request: SipRequest, target: SipSendTarget): Promise<void>;
  /** Sends a response by its top Via, outside any server transaction (stateless forwarding). */
  forwardResponse(response: SipResponse, interfaceName?: string): Promise<void>;
  /** Bound listeners (empty until the service has started listening). */
  listening(): readonly SipListening[];
}
