import type { SipRequest, SipResponse } from '../sip/message.js';
import type { Endpoint, Transport } from './types.js';

/** Told when a fire-and-forget send failed. */
export interface SendFailureSink {
  sendFailed(error: unknown): void;
}

/**
 * A response fixed for resending: its bytes and destination worked out once, so a completed
 * transaction can drop the parsed messages and still answer retransmissions.
 */
export interface Resender {
  resend(failed: SendFailureSink): void;
}

/** Where a server transaction's responses go (the transport layer routes them, RFC 3261 §18.2.2). */
export interface ServerChannel {
  readonly reliable: boolean;
  sendResponse(response: SipResponse): Promise<void>;
  /**
   * Optional fire-and-forget form of `sendResponse`: no promise; a failure (now or later) is
   * reported to `failed`. Used on the hot path when the channel offers it.
   */
  postResponse?(response: SipResponse, failed: SendFailureSink): void;
  /**
   * Optional: the response as a {@link Resender} (datagram channels only, where a retransmission
   * always goes to the same address); `undefined` when it cannot be prepared.
   */
  resender?(response: SipResponse): Resender | undefined;
}

/** Where a client transaction's request (and, for INVITE, its ACK) goes. */
export interface ClientChannel {
  readonly reliable: boolean;
  sendRequest(request: SipRequest): Promise<void>;
}

/** Where an inbound message came from; handed to the TU with each request. */
export interface InboundContext {
  readonly source: Endpoint;
  readonly transport: Transport;
  readonly connectionId?: number;
}

/** An inbound request (Via already stamped) plus the channel its responses must take. */
export interface InboundRequest {
  readonly request: SipRequest;
  readonly channel: ServerChannel;
  readonly context: InboundContext;
}

export interface InboundResponse {
  readonly response: SipResponse;
  readonly context: InboundContext;
}

/** What the transport layer hands parsed messages to (the transaction layer). */
export interface MessageSink {
  receiveRequest(inbound: InboundRequest): void;
  receiveResponse(inbound: InboundResponse): void;
}
