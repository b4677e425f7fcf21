/**
 * Message builders for tests: each returns a real parsed message (never a mock).
 * Other layers' tests reuse these; keep them here.
 *
 * @example const inv = anInvite({ via: ['SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKa;rport'] });
 */
import type { SipMessage, SipRequest, SipResponse } from '../../src/sip/index.js';
import { createResponse, parseMessage } from '../../src/sip/index.js';

export interface RequestSpec {
  readonly method?: string;
  readonly requestUri?: string;
  /** Via values top-down, one field each. */
  readonly via?: readonly string[];
  readonly from?: string;
  readonly to?: string;
  readonly callId?: string;
  readonly cseq?: number;
  /** `null` leaves Max-Forwards out. */
  readonly maxForwards?: number | null;
  readonly contact?: string;
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  readonly body?: string;
  readonly contentType?: string;
}

export const DEFAULT_SDP =
  'v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n' +
  'm=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n';

/** Raw bytes of a request built from a spec (for tests that need bytes). */
export function requestBytes(spec: RequestSpec = {}): Buffer {
  const method = spec.method ?? 'INVITE';
  const lines = [`${method} ${spec.requestUri ?? 'sip:bob@example.com'} SIP/2.0`];
  for (const v of spec.via ?? ['SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-test-1;rport'])
    lines.push(`Via: ${v}`);
  if (spec.maxForwards !== null) lines.push(`Max-Forwards: ${spec.maxForwards ?? 70}`);
  lines.push(`From: ${spec.from ?? '"Alice" <sip:alice@example.com>;tag=a1'}`);
  lines.push(`To: ${spec.to ?? '<sip:bob@example.com>'}`);
  lines.push(`Call-ID: ${spec.callId ?? 'call-1@192.0.2.10'}`);
  lines.push(`CSeq: ${spec.cseq ?? 1} ${method}`);
  if (spec.contact !== undefined) lines.push(`Contact: ${spec.contact}`);
  for (const [n, v] of spec.headers ?? []) lines.push(`${n}: ${v}`);
  const body = Buffer.from(spec.body ?? '', 'latin1');
  if (body.length > 0) lines.push(`Content-Type: ${spec.contentType ?? 'application/sdp'}`);
  lines.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

function mustParse(bytes: Buffer): SipMessage {
  const r = parseMessage(bytes);
  if (!r.ok) throw new Error(`builder produced an unparsable message: ${r.error.code}`);
  return r.value;
}

export function aRequest(spec: RequestSpec = {}): SipRequest {
  const m = mustParse(requestBytes(spec));
  if (m.kind !== 'request') throw new Error('not a request');
  return m;
}

export function anInvite(spec: RequestSpec = {}): SipRequest {
  return aRequest({
    contact: '<sip:alice@192.0.2.10:5060;transport=udp>',
    body: DEFAULT_SDP,
    ...spec,
    method: 'INVITE',
  });
}

export function aRegister(spec: RequestSpec = {}): SipRequest {
  return aRequest({
    requestUri: 'sip:example.com',
    from: '<sip:alice@example.com>;tag=r1',
    to: '<sip:alice@example.com>',
    contact: '<sip:alice@192.0.2.10:5060>;expires=3600',
    ...spec,
    method: 'REGISTER',
  });
}

export function anOptions(spec: RequestSpec = {}): SipRequest {
  return aRequest({ ...spec, method: 'OPTIONS' });
}

/** A response to `req` (default: a fresh INVITE) via createResponse (RFC 3261 §8.2.6). */
export function aResponse(
  status = 200,
  req: SipRequest = anInvite(),
  opts: { reason?: string; toTag?: string; headers?: ReadonlyArray<readonly [string, string]> } = {},
): SipResponse {
  return createResponse(req, status, opts.reason, {
    ...(status === 100 ? {} : { toTag: opts.toTag ?? 'b1' }),
    ...(opts.headers === undefined ? {} : { headers: opts.headers }),
  });
}
