import type { HeaderField, SipRequest, SipResponse, Via } from '../../src/sip/message.js';

/**
 * Hand-built messages for the state-machine tests: plain data, no parser involved, so the
 * machines are tested on their own.
 */
function field(name: string, value: string): HeaderField {
  return { name, key: name.toLowerCase(), value, raw: `${name}: ${value}\r\n` };
}

function via(branch: string, host = '10.0.0.1', port: number | undefined = 5060): Via {
  const raw = `SIP/2.0/UDP ${host}${port === undefined ? '' : `:${port}`};branch=${branch}`;
  return {
    protocolName: 'SIP',
    protocolVersion: '2.0',
    transport: 'UDP',
    host,
    port,
    branch,
    received: undefined,
    rport: undefined,
    params: [{ name: 'branch', value: branch }],
    raw,
  };
}

export interface RequestSpec {
  method?: string;
  branch?: string;
  cseqMethod?: string;
  seq?: number;
  callId?: string;
  fromTag?: string;
  toTag?: string;
  uri?: string;
  viaHost?: string;
}

export function aRequest(spec: RequestSpec = {}): SipRequest {
  const method = spec.method ?? 'INVITE';
  const uri = spec.uri ?? 'sip:bob@example.com';
  const branch = spec.branch ?? 'z9hG4bK-1';
  const seq = spec.seq ?? 1;
  const cseqMethod = spec.cseqMethod ?? method;
  const callId = spec.callId ?? 'call-1';
  const fromTag = spec.fromTag ?? 'from-1';
  const v = via(branch, spec.viaHost);
  const fromRaw = `<sip:alice@example.com>;tag=${fromTag}`;
  const toRaw = `<sip:bob@example.com>${spec.toTag === undefined ? '' : `;tag=${spec.toTag}`}`;
  const nameAddr = (raw: string, user: string, tag: string | undefined) => ({
    displayName: undefined,
    uri: {
      kind: 'sip' as const,
      scheme: 'sip' as const,
      user,
      userRaw: user,
      password: undefined,
      host: 'example.com',
      hostKind: 'domain' as const,
      port: undefined,
      params: [],
      headers: [],
      raw: `sip:${user}@example.com`,
    },
    angleBrackets: true,
    params: tag === undefined ? [] : [{ name: 'tag', value: tag }],
    tag,
    raw,
  });
  return {
    kind: 'request',
    method,
    requestUri: {
      kind: 'sip',
      scheme: 'sip',
      user: 'bob',
      userRaw: 'bob',
      password: undefined,
      host: 'example.com',
      hostKind: 'domain',
      port: undefined,
      params: [],
      headers: [],
      raw: uri,
    },
    version: 'SIP/2.0',
    startLine: `${method} ${uri} SIP/2.0`,
    headers: [
      field('Via', v.raw),
      field('Max-Forwards', '70'),
      field('From', fromRaw),
      field('To', toRaw),
      field('Call-ID', callId),
      field('CSeq', `${seq} ${cseqMethod}`),
      field('Content-Length', '0'),
    ],
    body: Buffer.alloc(0),
    via: [v],
    from: nameAddr(fromRaw, 'alice', fromTag),
    to: nameAddr(toRaw, 'bob', spec.toTag),
    callId,
    cseq: { seq, method: cseqMethod },
    maxForwards: 70,
    contentLength: 0,
    wire: undefined,
  };
}

/** A response to `request` with `status` (To tag added for non-100). */
export function aResponseTo(request: SipRequest, status: number, toTag = 'to-1'): SipResponse {
  const tag = status === 100 ? request.to.tag : (request.to.tag ?? toTag);
  const toRaw = `<sip:bob@example.com>${tag === undefined ? '' : `;tag=${tag}`}`;
  return {
    kind: 'response',
    status,
    reason: 'X',
    version: 'SIP/2.0',
    startLine: `SIP/2.0 ${status} X`,
    headers: request.headers.map((h) => (h.key === 'to' ? field('To', toRaw) : h)),
    body: Buffer.alloc(0),
    via: request.via,
    from: request.from,
    to: { ...request.to, tag, raw: toRaw },
    callId: request.callId,
    cseq: request.cseq,
    maxForwards: undefined,
    contentLength: 0,
    wire: undefined,
  };
}
