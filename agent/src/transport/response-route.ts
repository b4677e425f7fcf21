import type { Via } from '../sip/message.js';
import { defaultPort } from './default-port.js';
import type { Endpoint } from './types.js';
import { normalizeHost } from './via-stamp.js';

/** Where a response goes (pure decision, executed by the transport layer). */
export type ResponseRoute =
  | { readonly kind: 'connection'; readonly connectionId: number; readonly fallback: Endpoint }
  | { readonly kind: 'endpoint'; readonly destination: Endpoint };

function getParam(via: Via, name: string): string | undefined {
  return via.params.find((p) => p.name.toLowerCase() === name)?.value;
}

/**
 * RFC 3261 §18.2.2 with RFC 3581 §4, for the top Via of the request being answered (already
 * stamped with received/rport by the transport layer on the way in).
 * - Reliable transport: the connection the request arrived on while it is open; else a new
 *   connection to `received` (or sent-by) and the sent-by port.
 * - `maddr` present: that address, sent-by port (default 5060/5061).
 * - Otherwise `received` (or sent-by host), port `rport` when filled (RFC 3581), else sent-by port.
 */
export function routeResponse(
  via: Via,
  arrival: { readonly connectionId?: number | undefined },
): ResponseRoute {
  const sentByPort = via.port ?? defaultPort(via.transport);
  const host = normalizeHost(via.received ?? via.host);
  if (arrival.connectionId !== undefined) {
    const port = typeof via.rport === 'number' ? via.rport : sentByPort;
    return { kind: 'connection', connectionId: arrival.connectionId, fallback: { address: host, port } };
  }
  const maddr = getParam(via, 'maddr');
  if (maddr !== undefined && maddr !== '') {
    return { kind: 'endpoint', destination: { address: normalizeHost(maddr), port: sentByPort } };
  }
  const port = typeof via.rport === 'number' ? via.rport : sentByPort;
  return { kind: 'endpoint', destination: { address: host, port } };
}
