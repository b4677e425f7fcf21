import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { CoreUser } from '../../src/core/core-user.js';
import { AGENT_OPTION_TAGS, unsupportedOptionTags } from '../../src/core/option-tags.js';
import { RequestHandlerRegistry } from '../../src/core/request-handlers.js';
import { getHeaders, parseMessage, type SipRequest, type SipResponse } from '../../src/sip/index.js';
import type { IdGenerator } from '../../src/transaction/ids.js';
import type { ServerTransaction } from '../../src/transaction/types.js';
import type { InboundContext } from '../../src/transport/channels.js';

function request(method: string, uri: string, extra: string[]): SipRequest {
  const text = [
    `${method} ${uri} SIP/2.0`,
    'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKopt1',
    'Max-Forwards: 70',
    'From: <sip:a@example.com>;tag=1',
    'To: <sip:b@example.com>',
    'Call-ID: opt-tags-1',
    `CSeq: 1 ${method}`,
    ...extra,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const r = parseMessage(Buffer.from(text, 'latin1'));
  if (!r.ok || r.value.kind !== 'request') throw new Error('fixture did not parse');
  return r.value;
}

describe('unsupportedOptionTags (RFC 3261 §8.2.2.3, §16.3 item 4)', () => {
  it('lists the unknown tags of Require in order, once, across fields', () => {
    const req = request('OPTIONS', 'sip:example.com', [
      'Require: nothingSupportsThis, outbound',
      'Require: nothingSupportsThisEither, NOTHINGSUPPORTSTHIS',
    ]);
    expect(unsupportedOptionTags(req, 'require', AGENT_OPTION_TAGS)).toEqual([
      'nothingSupportsThis',
      'nothingSupportsThisEither',
    ]);
  });

  it('reads Proxy-Require apart from Require, case-insensitively against the supported set', () => {
    const req = request('INVITE', 'sip:b@example.net', ['Require: foo', 'Proxy-Require: Outbound, bar']);
    expect(unsupportedOptionTags(req, 'proxy-require', AGENT_OPTION_TAGS)).toEqual(['bar']);
    expect(unsupportedOptionTags(req, 'require', new Set(['foo']))).toEqual([]);
  });

  it('is empty without the header, and skips values that are not tokens', () => {
    expect(
      unsupportedOptionTags(request('OPTIONS', 'sip:example.com', []), 'require', AGENT_OPTION_TAGS),
    ).toEqual([]);
    const req = request('OPTIONS', 'sip:example.com', ['Require: "quoted thing", ok-tag']);
    expect(unsupportedOptionTags(req, 'require', AGENT_OPTION_TAGS)).toEqual(['ok-tag']);
  });
});

describe('CoreUser: Require on requests for the agent', () => {
  const ids = { tag: () => 'tt', branch: () => 'z9hG4bKx', callId: () => 'c' } as unknown as IdGenerator;
  const core = new CoreUser(
    { localHosts: ['example.com'] },
    { handlers: new RequestHandlerRegistry(), ids, logger: pino({ level: 'silent' }) },
  );
  const answer = (req: SipRequest): SipResponse | undefined => {
    let got: SipResponse | undefined;
    const tx = { request: req, respond: (r: SipResponse) => (got = r) } as unknown as ServerTransaction;
    core.onRequest(req, tx, {} as InboundContext, {});
    return got;
  };

  it('answers 420 Bad Extension with Unsupported listing the unknown tags (RFC 4475 §3.3.5)', () => {
    const res = answer(request('OPTIONS', 'sip:example.com', ['Require: nothingSupportsThis, outbound']));
    expect(res?.status).toBe(420);
    expect(getHeaders(res as SipResponse, 'unsupported')).toEqual(['nothingSupportsThis']);
  });

  it('answers OPTIONS normally when every required tag is supported', () => {
    expect(answer(request('OPTIONS', 'sip:example.com', ['Require: outbound']))?.status).toBe(200);
  });

  it('leaves a request for a user at its domain to the proxy (only that UAS checks Require)', () => {
    const res = answer(request('OPTIONS', 'sip:user@example.com', ['Require: nothingSupportsThis']));
    expect(res?.status).not.toBe(420);
    expect(res?.status).not.toBe(200);
  });

  it('never rejects CANCEL for Require, and leaves requests for elsewhere to the proxy', () => {
    expect(answer(request('CANCEL', 'sip:example.com', ['Require: nothingSupportsThis']))?.status).toBe(481);
    expect(
      answer(request('OPTIONS', 'sip:b@example.org', ['Require: nothingSupportsThis']))?.status,
    ).not.toBe(420);
  });
});
