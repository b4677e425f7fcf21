/**
 * What the transport layer drops or refuses, as a plain object of numbers so `/metrics` can
 * render it later without knowing the transport internals. Mutated only by the transport layer.
 */
export interface TransportCounters {
  datagramsReceived: number;
  streamMessagesReceived: number;
  /** Oversize datagrams dropped unparsed. */
  datagramsTooLarge: number;
  /** Malformed input that was answered (400/505/416/413). */
  malformedAnswered: number;
  /** Malformed input dropped (responses, unanswerable garbage). */
  malformedDropped: number;
  /** Responses whose top Via is not ours (RFC 3261 §18.1.2) or that match nothing. */
  responsesDropped: number;
  /** Stream framing violations (oversize, missing Content-Length); the connection was closed. */
  framingErrors: number;
  /** Inbound connections refused by maxConnections / maxConnectionsPerSource. */
  connectionsRefused: number;
  connectionsIdleClosed: number;
  /** Unproven connections (no valid message yet) closed to make room for a new one at maxConnections. */
  connectionsEvicted: number;
  /** Connections closed because a message was not complete within messageTimeoutMs of its first bytes. */
  connectionsMessageTimeout: number;
  /** Connections closed because no valid message arrived within firstMessageTimeoutMs. */
  connectionsFirstMessageTimeout: number;
  /** CRLF pongs written in answer to RFC 5626 pings. */
  keepAlivePongs: number;
  /** Bugs caught by the per-message try/catch: the message was dropped, the process kept going. */
  handlerErrors: number;
  sendErrors: number;
}

export function createTransportCounters(): TransportCounters {
  return {
    datagramsReceived: 0,
    streamMessagesReceived: 0,
    datagramsTooLarge: 0,
    malformedAnswered: 0,
    malformedDropped: 0,
    responsesDropped: 0,
    framingErrors: 0,
    connectionsRefused: 0,
    connectionsIdleClosed: 0,
    connectionsEvicted: 0,
    connectionsMessageTimeout: 0,
    connectionsFirstMessageTimeout: 0,
    keepAlivePongs: 0,
    handlerErrors: 0,
    sendErrors: 0,
  };
}
