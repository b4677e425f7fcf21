import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { RequestHandlerRegistry } from '../../src/core/request-handlers.js';
import type { SipSendTarget, SipStack } from '../../src/core/sip-stack.js';
import { callDisposition } from '../../src/proxy/call-records.js';
import type { Call } from '../../src/proxy/calls.js';
import { SipProxy, type ProxySettings } from '../../src/proxy/proxy-core.js';
import { type DnsLookup, type ResolveResult, resolveTargets } from '../../src/proxy/resolve/index.js';
import { createResponse } from '../../src/sip/build.js';
import type { SipRequest, SipResponse } from '../../src/sip/message.js';
import type { InboundContext } from '../../src/transport/channels.js';
import type { ClientTransactionUser, ServerTransaction } from '../../src/transaction/types.js';
import type { Transport } from '../../src/transport/types.js';
import { ManualClock } from '../../src/util/clock.js';
import { aRequest, anInvite, DEFAULT_SDP } from '../sip/builders.js';
import { binding, interfaces, LISTENING, myself, sealer } from './proxy-fixtures.js';

const ALICE = 'sip:alice@example.test';
const NO_DNS: DnsLookup = {
  naptr: async () => [],
  srv: async () => [],
  a: async () => [],
  aaaa: async () => [],
};

interface Sent {
  readonly request: SipRequest;
  readonly target: SipSendTarget;
  readonly user: ClientTransactionUser;
}

class FakeServerTx implements ServerTransaction {
  readonly kind = 'server-invite' as const;
  readonly responses: SipResponse[] = [];
  state: ServerTransaction['state'] = 'proceeding';
  dropped = false;
  constructor(readonly request: SipRequest) {}
  get lastResponse(): SipResponse | undefined {
    return this.responses[this.responses.length - 1];
  }
  get lastStatus(): number {
    return this.lastResponse?.status ?? 0;
  }
  get lastToTag(): string | undefined {
    return this.lastResponse?.to.tag;
  }
  respond(r: SipResponse): void {
    this.responses.push(r);
  }
}

function harness(
  opts: { settings?: Partial<ProxySettings>; resolve?: ResolveResult; bindings?: number } = {},
) {
  const sent: Sent[] = [];
  const stateless: { request: SipRequest; target: SipSendTarget }[] = [];
  const forwarded: { response: SipResponse; interfaceName: string | undefined }[] = [];
  const handlers = new RequestHandlerRegistry();
  let n = 0;
  const stack: SipStack = {
    handlers,
    ids: { branch: () => `z9hG4bK${++n}`, tag: () => `t${++n}` },
    drop: (tx) => {
      (tx as FakeServerTx).dropped = true;
    },
    sendRequest: (request, target, user) => sent.push({ request, target, user }),
    sendStateless: async (request, target) => {
      stateless.push({ request, target });
    },
    forwardResponse: async (response, interfaceName) => {
      forwarded.push({ response, interfaceName });
    },
    listening: () => LISTENING,
  };
  const clock = new ManualClock(1_000_000);
  const settings: ProxySettings = {
    outboundProxy: undefined,
    statelessMethods: new Set(),
    inviteTimeoutMs: 180_000,
    hide: true,
    strip: ['user-agent'],
    body: { allowedTypes: new Set(), maxMediaStreams: 4 },
    sessionTimer: { enabled: true, minSe: 90, defaultSessionExpires: 1800 },
    admission: {
      maxConcurrentCallsPerUser: 5,
      maxCallAttemptsPerSecPerUser: 5,
      maxConcurrentCallsPerSite: 100,
      maxCallAttemptsPerSecPerSite: 100,
    },
    ...opts.settings,
  };
  const bindings = Array.from({ length: opts.bindings ?? 2 }, (_, i) =>
    binding(ALICE, `sip:alice@192.168.77.${10 + i}:5060`, `192.168.77.${10 + i}`),
  );
  const security: string[] = [];
  const ended: Call[] = [];
  const proxy = new SipProxy({
    stack,
    clock,
    logger: pino({ level: 'silent' }),
    sealer,
    settings: () => settings,
    myself,
    interfaces,
    locate: (aor) => (aor === ALICE ? bindings : []),
    isKnownUser: (aor) => aor === ALICE,
    // The real RFC 3263 walk over a DNS that knows nothing (numeric hosts need none).
    resolve: (uri) =>
      opts.resolve === undefined
        ? resolveTargets(uri, { dns: NO_DNS, random: () => 0 })
        : Promise.resolve(opts.resolve),
    onSecurityEvent: (e) => security.push(e.detail),
    callEvents: { onStarted: () => {}, onAnswered: () => {}, onEnded: (c) => ended.push(c) },
  });
  proxy.attach();
  const ctx = (iface: 'inside' | 'outside', address: string): InboundContext => ({
    source: { address, port: 5060 },
    transport: { interfaceName: iface, protocol: 'udp' } as Transport,
  });
  const request = (
    req: SipRequest,
    iface: 'inside' | 'outside',
    address: string,
    cancels?: ServerTransaction,
  ) => {
    const tx = new FakeServerTx(req);
    handlers.get(req.method)!(req, tx, ctx(iface, address), cancels === undefined ? {} : { cancels });
    return tx;
  };
  const answer = (s: Sent, status: number, toTag = 'callee') =>
    s.user.onResponse(createResponse(s.request, status, undefined, status === 100 ? {} : { toTag }));
  return { proxy, sent, stateless, forwarded, clock, request, answer, security, handlers, ctx, ended };
}

const fromOutside = () =>
  anInvite({
    requestUri: 'sip:alice@example.test',
    via: ['SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKcaller;rport=5060;received=198.51.100.7'],
    from: '<sip:carol@far.example>;tag=c1',
    to: '<sip:alice@example.test>',
    callId: 'call-42@far.example',
  });

describe('SipProxy: parallel forking (RFC 3261 §16.7)', () => {
  it('sends one branch per binding, forwards provisionals, the 2xx, and cancels the ringing branch', async () => {
    const h = harness();
    const tx = h.request(fromOutside(), 'outside', '198.51.100.7');
    expect(h.sent).toHaveLength(2);
    const [b1, b2] = h.sent as [Sent, Sent];
    expect(b1.target).toMatchObject({
      destination: { address: '192.168.77.10', port: 5060 },
      interfaceName: 'inside',
    });
    expect(b1.request.requestUri.raw).toBe('sip:alice@192.168.77.10:5060');
    // Double Record-Route across interfaces, our Via on top of the caller's.
    expect(b1.request.headers.find((h) => h.key === 'record-route')!.value).toBe(
      '<sip:192.168.77.1:5060;lr>, <sip:203.0.113.1:5060;lr>',
    );
    expect(b1.request.via.map((v) => v.host)).toEqual(['192.168.77.1', '198.51.100.7']);
    expect(b1.request.maxForwards).toBe(69);
    // The outside caller's contact is sealed with its flow (NAT traversal for in-dialog requests).
    expect(b1.request.headers.find((x) => x.key === 'contact')!.value).toMatch(
      /^<sip:alice@192\.168\.77\.1:5060;swc=[A-Za-z0-9_-]+>$/,
    );

    h.answer(b1, 180, 'ring1');
    expect(tx.responses.map((r) => r.status)).toEqual([180]);
    expect(tx.responses[0]!.via.map((v) => v.raw)).toEqual(fromOutside().via.map((v) => v.raw));
    h.answer(b2, 200, 'ans2');
    expect(tx.responses.map((r) => r.status)).toEqual([180, 200]);
    // The ringing branch gets a CANCEL with its own branch id.
    const cancel = h.sent[2]!;
    expect(cancel.request.method).toBe('CANCEL');
    expect(cancel.request.via[0]!.branch).toBe(b1.request.via[0]!.branch);
    expect(cancel.target.destination.address).toBe('192.168.77.10');
    expect(h.proxy.callRows()).toMatchObject([{ state: 'confirmed', direction: 'inbound' }]);
    h.answer(b1, 487, 'ring1');
    expect(tx.responses.map((r) => r.status)).toEqual([180, 200]);
  });

  it('cancels a branch that rings past Timer C, counted from its last provisional (§16.8)', () => {
    const h = harness({ bindings: 1, settings: { inviteTimeoutMs: 1000 } });
    h.request(fromOutside(), 'outside', '198.51.100.7');
    const b = h.sent[0]!;
    h.answer(b, 180, 'r1');
    h.clock.advance(500);
    h.answer(b, 180, 'r1');
    h.clock.advance(600);
    expect(h.sent.map((s) => s.request.method)).toEqual(['INVITE']);
    h.clock.advance(500);
    expect(h.sent.map((s) => s.request.method)).toEqual(['INVITE', 'CANCEL']);
  });

  it('waits for every branch and sends the best final response; a 503 goes up as 500', () => {
    const h = harness();
    const tx = h.request(fromOutside(), 'outside', '198.51.100.7');
    const [b1, b2] = h.sent as [Sent, Sent];
    h.answer(b1, 486);
    expect(tx.responses).toHaveLength(0);
    h.answer(b2, 404);
    // Same class: the first received wins.
    expect(tx.responses.map((r) => r.status)).toEqual([486]);

    const h2 = harness({ bindings: 1 });
    const tx2 = h2.request(fromOutside(), 'outside', '198.51.100.7');
    h2.answer(h2.sent[0]!, 503);
    expect(tx2.responses.map((r) => r.status)).toEqual([500]);
    expect(h2.proxy.callRows()).toEqual([]);
  });

  it('does not CANCEL a branch before its provisional, then cancels it when the provisional comes (§9.1)', () => {
    const h = harness();
    const tx = h.request(fromOutside(), 'outside', '198.51.100.7');
    const [b1] = h.sent as [Sent, Sent];
    const cancel = aRequest({
      method: 'CANCEL',
      requestUri: 'sip:alice@example.test',
      via: [fromOutside().via[0]!.raw],
      from: '<sip:carol@far.example>;tag=c1',
      callId: 'call-42@far.example',
    });
    const cancelTx = h.request(cancel, 'outside', '198.51.100.7', tx);
    expect(cancelTx.responses.map((r) => r.status)).toEqual([200]);
    expect(h.sent).toHaveLength(2);
    h.answer(b1, 180);
    expect(h.sent.map((s) => s.request.method)).toEqual(['INVITE', 'INVITE', 'CANCEL']);
    const unknown = h.request(cancel, 'outside', '198.51.100.7', undefined);
    expect(unknown.responses.map((r) => r.status)).toEqual([481]);
  });
});

describe('SipProxy: what a call record says of an unanswered call', () => {
  it('busy: the final status, the codes in arrival order, no end reason', () => {
    const h = harness({ bindings: 1 });
    h.request(fromOutside(), 'outside', '198.51.100.7');
    h.answer(h.sent[0]!, 100);
    h.answer(h.sent[0]!, 180);
    h.answer(h.sent[0]!, 486);
    expect(h.ended).toHaveLength(1);
    const c = h.ended[0]!;
    expect([c.status, c.codes, c.endReason, c.cancelled, callDisposition(c)]).toEqual([
      486,
      [180, 486],
      undefined,
      false,
      'busy',
    ]);
  });

  it('a call still up when the agent stops gets its record, ended by the agent', () => {
    const h = harness({ bindings: 1 });
    h.request(fromOutside(), 'outside', '198.51.100.7');
    h.answer(h.sent[0]!, 200);
    h.request(
      anInvite({
        callId: 'ringing@far.example',
        from: '<sip:dan@far.example>;tag=d1',
        requestUri: 'sip:alice@example.test',
        via: ['SIP/2.0/UDP 198.51.100.8:5060;branch=z9hG4bKdan;rport=5060;received=198.51.100.8'],
        to: '<sip:alice@example.test>',
      }),
      'outside',
      '198.51.100.8',
    );
    h.clock.advance(5000);
    h.proxy.stop();
    expect(h.ended.map((c) => [c.callId, c.status, c.endReason, callDisposition(c)])).toEqual([
      ['call-42@far.example', 200, 'agent', 'answered'],
      ['ringing@far.example', 503, undefined, 'failed'],
    ]);
  });

  it('cancelled by the caller: 487, marked cancelled', () => {
    const h = harness({ bindings: 1 });
    const tx = h.request(fromOutside(), 'outside', '198.51.100.7');
    h.answer(h.sent[0]!, 180);
    const cancel = aRequest({
      method: 'CANCEL',
      requestUri: 'sip:alice@example.test',
      via: [fromOutside().via[0]!.raw],
      from: '<sip:carol@far.example>;tag=c1',
      callId: 'call-42@far.example',
    });
    h.request(cancel, 'outside', '198.51.100.7', tx);
    h.answer(h.sent[0]!, 487);
    expect(h.ended.map((c) => [c.status, c.cancelled, callDisposition(c)])).toEqual([
      [487, true, 'cancelled'],
    ]);
  });
});

describe('SipProxy: foreign targets, failover, hiding', () => {
  const targets: ResolveResult = {
    ok: true,
    targets: [
      { transport: 'udp', address: '203.0.113.12', port: 5060, host: 'dead.srv.example' },
      { transport: 'udp', address: '203.0.113.13', port: 5060, host: 'live.srv.example' },
    ],
  };
  const fromInside = () =>
    anInvite({
      requestUri: 'sip:dave@srv.example',
      via: ['SIP/2.0/UDP 192.168.77.10:5062;branch=z9hG4bKalice;rport=5062;received=192.168.77.10'],
      from: '<sip:alice@example.test>;tag=a1',
      to: '<sip:dave@srv.example>',
      callId: 'xyz@192.168.77.10',
      contact: '<sip:alice@192.168.77.10:5062>',
      headers: [['User-Agent', 'Phone']],
    });

  it('tries the next RFC 3263 target after a timeout and hides the inside on the way out', async () => {
    const h = harness({ resolve: targets });
    const tx = h.request(fromInside(), 'inside', '192.168.77.10');
    await new Promise((r) => setImmediate(r));
    expect(h.sent).toHaveLength(1);
    const first = h.sent[0]!;
    expect(first.target).toMatchObject({
      destination: { address: '203.0.113.12' },
      interfaceName: 'outside',
    });
    const head = first.request.headers.map((x) => x.raw).join('') + first.request.startLine;
    expect(head).not.toMatch(/192\.168\.77\./);
    expect(first.request.via).toHaveLength(1);
    first.user.onResponse(createResponse(first.request, 408, 'Request Timeout'), 'timeout');
    expect(h.sent).toHaveLength(2);
    const second = h.sent[1]!;
    expect(second.target.destination.address).toBe('203.0.113.13');
    h.answer(second, 200);
    const up = tx.responses[tx.responses.length - 1]!;
    expect(up.status).toBe(200);
    // Upstream sees its own Via stack, Call-ID and From again; the Record-Route list in full.
    expect(up.via.map((v) => v.raw)).toEqual(fromInside().via.map((v) => v.raw));
    expect(up.callId).toBe('xyz@192.168.77.10');
    expect(h.proxy.callRows()).toMatchObject([{ direction: 'outbound', state: 'confirmed' }]);
  });

  it('answers a DNS failure with the resolver’s status', async () => {
    const h = harness({ resolve: { ok: false, reason: 'dns-failure', detail: 'SERVFAIL' } });
    const tx = h.request(fromInside(), 'inside', '192.168.77.10');
    await new Promise((r) => setImmediate(r));
    expect(tx.responses.map((r) => r.status)).toEqual([503]);
  });

  it('refuses calls past the admission limits with a security event', () => {
    const h = harness({
      bindings: 1,
      settings: {
        admission: {
          maxConcurrentCallsPerUser: 1,
          maxCallAttemptsPerSecPerUser: 10,
          maxConcurrentCallsPerSite: 10,
          maxCallAttemptsPerSecPerSite: 10,
        },
      },
    });
    h.request(fromOutside(), 'outside', '198.51.100.7');
    const second = h.request(
      anInvite({
        requestUri: 'sip:alice@example.test',
        from: '<sip:eve@far.example>;tag=e1',
        callId: 'other',
      }),
      'outside',
      '198.51.100.8',
    );
    expect(second.responses.map((r) => r.status)).toEqual([486]);
    expect(h.security).toEqual(['user-concurrent sip:alice@example.test']);
  });

  it('consumes credentials for its own realm and keeps a flow’s transport whatever the size', () => {
    const h = harness({ bindings: 1 });
    const inv = anInvite({
      requestUri: 'sip:alice@example.test',
      headers: [
        [
          'Proxy-Authorization',
          'Digest username="bob", realm="example.test", nonce="n", uri="sip:x", response="r"',
        ],
        [
          'Proxy-Authorization',
          'Digest username="bob", realm="upstream.example", nonce="n", uri="sip:x", response="r"',
        ],
      ],
    });
    h.request(inv, 'inside', '192.168.77.20');
    const sent = h.sent[0]!;
    expect(sent.request.headers.filter((x) => x.key === 'proxy-authorization').map((x) => x.value)).toEqual([
      'Digest username="bob", realm="upstream.example", nonce="n", uri="sip:x", response="r"',
    ]);
    expect(sent.target.pinned).toBe(true);
  });

  it('refuses a body type outside policy with 415 + Accept and too many SDP streams with 488', () => {
    const h = harness({
      settings: { body: { allowedTypes: new Set(['application/sdp']), maxMediaStreams: 1 } },
    });
    const text = h.request(
      anInvite({ requestUri: 'sip:alice@example.test', body: 'hello', contentType: 'text/plain' }),
      'outside',
      '198.51.100.7',
    );
    expect(text.responses.map((r) => r.status)).toEqual([415]);
    expect(text.responses[0]!.headers.find((x) => x.key === 'accept')!.value).toBe('application/sdp');
    const twoStreams = h.request(
      anInvite({
        requestUri: 'sip:alice@example.test',
        callId: 'two-streams',
        body: `${DEFAULT_SDP}m=video 49172 RTP/AVP 96\r\n`,
      }),
      'outside',
      '198.51.100.7',
    );
    expect(twoStreams.responses.map((r) => r.status)).toEqual([488]);
    expect(h.sent).toHaveLength(0);
    // Within policy: forwarded.
    h.request(
      anInvite({ requestUri: 'sip:alice@example.test', callId: 'one-stream' }),
      'outside',
      '198.51.100.7',
    );
    expect(h.sent.length).toBeGreaterThan(0);
  });

  it('answers an unknown Proxy-Require option with 420 and Unsupported', () => {
    const h = harness();
    const tx = h.request(
      anInvite({ requestUri: 'sip:alice@example.test', headers: [['Proxy-Require', 'foo, outbound']] }),
      'outside',
      '198.51.100.7',
    );
    expect(tx.responses.map((r) => r.status)).toEqual([420]);
    expect(tx.responses[0]!.headers.find((x) => x.key === 'unsupported')!.value).toBe('foo');
    expect(h.sent).toHaveLength(0);
  });

  it('answers Max-Forwards 0 with 483 and a loop with 482', () => {
    const h = harness();
    const tx = h.request(
      anInvite({ requestUri: 'sip:alice@example.test', maxForwards: 0 }),
      'outside',
      '198.51.100.7',
    );
    expect(tx.responses.map((r) => r.status)).toEqual([483]);
    // The agent's own request comes back to it unchanged: a loop, not a spiral.
    const out = aRequest({
      requestUri: 'sip:dave@203.0.113.50',
      via: ['SIP/2.0/UDP 192.168.77.10:5062;branch=z9hG4bKalice;rport=5062;received=192.168.77.10'],
      from: '<sip:alice@example.test>;tag=a1',
      to: '<sip:dave@203.0.113.50>',
    });
    h.request(out, 'inside', '192.168.77.10');
    return new Promise<void>((done) => setTimeout(done, 20)).then(() => {
      const forwarded = h.sent[0]!.request;
      expect(forwarded.requestUri.raw).toBe('sip:dave@203.0.113.50');
      const back = h.request(forwarded, 'outside', '203.0.113.50');
      expect(back.responses.map((r) => r.status)).toEqual([482]);
    });
  });

  it('forwards an ACK for a 2xx once, statelessly, by its route', async () => {
    const h = harness();
    const ack = aRequest({
      method: 'ACK',
      requestUri: 'sip:carol@198.51.100.7:5060',
      via: ['SIP/2.0/UDP 192.168.77.10:5062;branch=z9hG4bKack;rport=5062;received=192.168.77.10'],
      from: '<sip:alice@example.test>;tag=a1',
      to: '<sip:carol@far.example>;tag=c1',
      headers: [['Route', '<sip:192.168.77.1:5060;lr>, <sip:203.0.113.1:5060;lr>']],
    });
    h.proxy.onStrayAck(ack, h.ctx('inside', '192.168.77.10'));
    return new Promise<void>((done) =>
      setImmediate(() => {
        expect(h.stateless).toHaveLength(1);
        expect(h.stateless[0]!.target).toMatchObject({
          destination: { address: '198.51.100.7' },
          interfaceName: 'outside',
        });
        expect(h.stateless[0]!.request.headers.find((x) => x.key === 'route')).toBeUndefined();
        expect(h.stateless[0]!.request.via).toHaveLength(1);
        done();
      }),
    );
  });

  it('forwards a response matching no transaction only for a method it forwards statelessly', () => {
    const options = aRequest({
      method: 'OPTIONS',
      requestUri: 'sip:carol@198.51.100.7',
      via: [
        'SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bK-sw0.forged',
        'SIP/2.0/UDP 192.168.77.10:5062;branch=z9hG4bKphone;rport=5062;received=192.168.77.10',
      ],
      from: '<sip:alice@example.test>;tag=a1',
      to: '<sip:carol@198.51.100.7>',
    });
    const stray = createResponse(options, 200, 'OK', { toTag: 'c1' });
    // No stateless methods (the default): a top Via in the agent's format proves nothing: dropped.
    const strict = harness();
    strict.proxy.onStrayResponse(stray, strict.ctx('outside', '198.51.100.7'));
    expect(strict.forwarded).toHaveLength(0);
    expect(strict.proxy.counters.strayResponsesDropped).toBe(1);
    // OPTIONS forwarded statelessly: its response goes on by the next Via.
    const loose = harness({ settings: { statelessMethods: new Set(['OPTIONS']) } });
    loose.proxy.onStrayResponse(stray, loose.ctx('outside', '198.51.100.7'));
    expect(loose.forwarded).toHaveLength(1);
    expect(loose.forwarded[0]!.response.via.map((v) => v.host)).toEqual(['192.168.77.10']);
    expect(loose.forwarded[0]!.interfaceName).toBe('inside');
  });
});

describe('SipProxy: session timers (RFC 4028)', () => {
  const timedInvite = (headers: [string, string][]) =>
    anInvite({
      requestUri: 'sip:alice@example.test',
      via: ['SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKcaller;rport=5060;received=198.51.100.7'],
      from: '<sip:carol@far.example>;tag=c1',
      to: '<sip:alice@example.test>',
      callId: 'call-42@far.example',
      contact: '<sip:carol@198.51.100.7:5060>',
      headers,
    });
  /** alice's 2xx as a UAS sends it: her Contact, the Record-Route of the INVITE, a Session-Expires. */
  const ok = (s: Sent, sessionExpires?: string) =>
    s.user.onResponse(
      createResponse(s.request, 200, 'OK', {
        toTag: 'a1',
        headers: [
          ['Contact', '<sip:alice@192.168.77.10:5060>'],
          ...s.request.headers
            .filter((f) => f.key === 'record-route')
            .map((f) => [f.name, f.value] as [string, string]),
          ...(sessionExpires === undefined
            ? []
            : ([['Session-Expires', sessionExpires]] as [string, string][])),
        ],
      }),
    );
  const header = (m: SipRequest | SipResponse, key: string) => m.headers.find((f) => f.key === key)?.value;

  it('refuses a Session-Expires below Min-SE with 422 and gives an INVITE without one the default', () => {
    const h = harness({ bindings: 1 });
    const tx = h.request(
      timedInvite([
        ['Supported', 'timer'],
        ['Session-Expires', '60'],
      ]),
      'outside',
      '198.51.100.7',
    );
    expect(tx.responses.map((r) => r.status)).toEqual([422]);
    expect(header(tx.responses[0]!, 'min-se')).toBe('90');
    expect(h.sent).toHaveLength(0);
    h.request(timedInvite([]), 'outside', '198.51.100.7');
    expect(header(h.sent[0]!.request, 'session-expires')).toBe('1800');
  });

  it('tears down a call nobody refreshes: a BYE to each party through the proxy, the call ended', () => {
    const h = harness({ bindings: 1 });
    const tx = h.request(
      timedInvite([
        ['Supported', 'timer'],
        ['Session-Expires', '90'],
      ]),
      'outside',
      '198.51.100.7',
    );
    const branch = h.sent[0]!;
    ok(branch, '90;refresher=uac');
    expect(tx.responses.map((r) => r.status)).toEqual([200]);
    expect(header(tx.responses[0]!, 'session-expires')).toBe('90;refresher=uac');
    expect(h.proxy.sessionTimers).toBe(1);
    expect(h.proxy.callRows()).toHaveLength(1);

    h.clock.advance(89_000);
    expect(h.sent.filter((s) => s.request.method === 'BYE')).toEqual([]);
    h.clock.advance(1_000);
    const byes = h.sent.filter((s) => s.request.method === 'BYE');
    expect(byes.map((b) => b.target.destination.address).sort()).toEqual(['192.168.77.10', '198.51.100.7']);
    const toCarol = byes.find((b) => b.target.destination.address === '198.51.100.7')!.request;
    const toAlice = byes.find((b) => b.target.destination.address === '192.168.77.10')!.request;
    // Each as the other party would have sent it, in the form its receiver knows the dialog by.
    expect(toCarol.requestUri.raw).toBe('sip:carol@198.51.100.7:5060');
    expect(toCarol.callId).toBe('call-42@far.example');
    expect([toCarol.from.tag, toCarol.to.tag]).toEqual(['a1', 'c1']);
    expect(toAlice.requestUri.raw).toBe('sip:alice@192.168.77.10:5060');
    expect(toAlice.callId).toBe(branch.request.callId);
    expect([toAlice.from.tag, toAlice.to.tag]).toEqual(['c1', 'a1']);
    expect(header(toAlice, 'reason')).toBe('SIP;cause=408;text="session expired"');
    expect(h.proxy.counters.sessionsExpired).toBe(1);
    expect(h.proxy.callRows()).toEqual([]);
    expect(h.ended.map((c) => [c.status, c.endReason, callDisposition(c)])).toEqual([
      [200, 'session-expired', 'answered'],
    ]);
    expect(h.proxy.sessionTimers).toBe(0);
  });

  it('keeps a call whose session is refreshed, and forgets the timer at BYE', () => {
    const h = harness({ bindings: 1 });
    h.request(
      timedInvite([
        ['Supported', 'timer'],
        ['Session-Expires', '90'],
      ]),
      'outside',
      '198.51.100.7',
    );
    ok(h.sent[0]!, '90;refresher=uac');
    // 30 simulated minutes of refreshes (re-INVITE from carol every 45 s, each answered 2xx).
    for (let i = 0; i < 40; i++) {
      h.clock.advance(45_000);
      const before = h.sent.length;
      h.request(
        anInvite({
          requestUri: 'sip:alice@192.168.77.1:5060',
          via: [`SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKre${i};rport=5060;received=198.51.100.7`],
          from: '<sip:carol@far.example>;tag=c1',
          to: '<sip:alice@example.test>;tag=a1',
          callId: 'call-42@far.example',
          cseq: 2 + i,
          headers: [
            ['Route', '<sip:203.0.113.1:5060;lr>'],
            ['Supported', 'timer'],
            ['Session-Expires', '90;refresher=uac'],
          ],
        }),
        'outside',
        '198.51.100.7',
      );
      const re = h.sent[before];
      expect(re?.request.method).toBe('INVITE');
      ok(re!, '90;refresher=uac');
    }
    expect(h.sent.filter((s) => s.request.method === 'BYE')).toEqual([]);
    expect(h.proxy.sessionTimers).toBe(1);
    expect(h.proxy.counters.sessionsExpired).toBe(0);
  });
});
