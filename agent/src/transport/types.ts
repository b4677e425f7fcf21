import type { SendFailureSink } from './channels.js';
/** Transport seam (STYLE §3.5 item 3): what the transaction layer and the transport layer need from a socket. */

export type TransportProtocol = 'udp' | 'tcp' | 'tls';

/** A remote or local socket address. IPv6 addresses are bare (no brackets). */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export interface Transport {
  readonly protocol: TransportProtocol;
  /** Name of the configured interface this listener belongs to. */
  readonly interfaceName: string;
  /** The bound local address and (real, even when configured as 0) port. */
  readonly local: Endpoint;
  /** `true` for TCP/TLS: RFC 3261 §17 timers A/E/G are not used and D/I/J/K are 0. */
  readonly reliable: boolean;
  /**
   * Sends one whole SIP message. Streams reuse an open connection to `to` or open one.
   * Rejects only with a `TransportError` (code `AGENT_ERR_TRANSPORT`).
   */
  send(bytes: Uint8Array, to: Endpoint): Promise<void>;
  /**
   * Optional fire-and-forget `send` (datagram transports): no promise, failures go to `failed`
   * (always asynchronously).
   */
  post?(bytes: Uint8Array, to: Endpoint, failed: SendFailureSink): void;
  close(): Promise<void>;
}

/** A stream transport can also answer on the exact connection a request arrived on (RFC 3261 §18.2.2). */
export interface StreamTransport extends Transport {
  /** Sends on connection `connectionId` if it is still open; resolves `false` when it is gone. */
  sendOnConnection(connectionId: number, bytes: Uint8Array): Promise<boolean>;
  /** Closes one connection (after a framing violation). */
  closeConnection(connectionId: number): void;
  /** Open connections right now. */
  readonly connectionCount: number;
}

/** One complete SIP message as it came off the wire, before parsing. */
export interface InboundBytes {
  readonly bytes: Buffer;
  readonly source: Endpoint;
  readonly transport: Transport;
  /** Set for stream transports: the connection the message arrived on. */
  readonly connectionId?: number;
}

/** What a listener reports upward; the transport layer implements this. */
export interface InboundSink {
  onMessage(inbound: InboundBytes): void;
  /**
   * A stream violated framing (oversize header/body, missing Content-Length). `headerBytes`
   * holds the complete header section when there was one, so a 400 can be attempted; the
   * listener closes the connection right after this returns (and any answer is flushed).
   */
  onStreamError(info: StreamErrorInfo): Promise<void> | void;
}

export interface StreamErrorInfo {
  readonly reason: import('./stream-framer.js').FramingErrorReason;
  readonly headerBytes?: Buffer;
  readonly source: Endpoint;
  readonly transport: StreamTransport;
  readonly connectionId: number;
}

export function isStreamTransport(t: Transport): t is StreamTransport {
  return t.protocol !== 'udp';
}

/** `host:port` key, bracketing IPv6. */
export function endpointKey(protocol: TransportProtocol, e: Endpoint): string {
  const host = e.address.includes(':') ? `[${e.address}]` : e.address;
  return `${protocol}:${host}:${e.port}`;
}
