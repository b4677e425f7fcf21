import { parseMessage } from '../sip/parse.js';
import type { SipRequest } from '../sip/message.js';
import type { Binding } from './binding.js';

const VIA_TRANSPORT: Readonly<Record<string, string>> = { udp: 'UDP', tcp: 'TCP', tls: 'TLS' };

function hostPort(address: string, port: number): string {
  return `${address.includes(':') ? `[${address}]` : address}:${port}`;
}

/**
 * The OPTIONS ping sent to a NATed binding through its flow (RFC 3261 §11.1: OPTIONS may be sent
 * to learn capabilities; any response proves the path works). Built as text and parsed, so the
 * transaction layer gets an ordinary `SipRequest`. `undefined` if it does not parse (a contact
 * the parser accepted in the REGISTER always should).
 */
export function keepAliveOptions(
  binding: Binding,
  local: { readonly address: string; readonly port: number },
  ids: { readonly branch: string; readonly tag: string },
  fromDomain: string,
): SipRequest | undefined {
  const transport = VIA_TRANSPORT[binding.flow.transport];
  if (transport === undefined) return undefined;
  const sentBy = hostPort(local.address, local.port);
  const text = [
    `OPTIONS ${binding.contact} SIP/2.0`,
    `Via: SIP/2.0/${transport} ${sentBy};branch=${ids.branch};rport`,
    'Max-Forwards: 70',
    `From: <sip:keepalive@${fromDomain}>;tag=${ids.tag}`,
    `To: <${binding.contact}>`,
    `Call-ID: ka-${ids.tag}@${sentBy}`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const parsed = parseMessage(Buffer.from(text, 'latin1'));
  return parsed.ok && parsed.value.kind === 'request' ? parsed.value : undefined;
}
