import type { HeaderField, SipRequest, SipResponse } from '../sip/message.js';

function field(name: string, value: string): HeaderField {
  return { name, key: name.toLowerCase(), value, raw: `${name}: ${value}\r\n` };
}

/**
 * RFC 3261 §17.1.1.3: the ACK a client INVITE transaction sends for a non-2xx final response.
 * Request-URI, Call-ID, From, CSeq number and Route come from the INVITE; To (with the tag)
 * from the response; exactly one Via, the INVITE's top Via (so it matches the server
 * transaction); method ACK.
 */
export function buildAckForNon2xx(invite: SipRequest, response: SipResponse): SipRequest {
  const topVia = invite.via[0];
  if (topVia === undefined) throw new Error('INVITE without Via cannot be acknowledged');
  const original = (key: string) => invite.headers.filter((h) => h.key === key);
  const toField = response.headers.find((h) => h.key === 'to') ?? field('To', response.to.raw);
  const headers: HeaderField[] = [
    field('Via', topVia.raw),
    ...original('route'),
    field('Max-Forwards', '70'),
    ...original('from'),
    toField,
    ...original('call-id'),
    field('CSeq', `${invite.cseq.seq} ACK`),
    field('Content-Length', '0'),
  ];
  return {
    kind: 'request',
    method: 'ACK',
    requestUri: invite.requestUri,
    version: invite.version,
    startLine: `ACK ${invite.requestUri.raw} ${invite.version}`,
    headers,
    body: Buffer.alloc(0),
    via: [topVia],
    from: invite.from,
    to: response.to,
    callId: invite.callId,
    cseq: { seq: invite.cseq.seq, method: 'ACK' },
    maxForwards: 70,
    contentLength: 0,
    wire: undefined,
  };
}
