import { describe, expect, it } from 'vitest';
import { getRoutes } from '../../src/sip/index.js';
import { hideForOutside } from '../../src/proxy/hiding.js';
import { decideRoute } from '../../src/proxy/route.js';
import { parseUri } from '../../src/sip/uri.js';
import type { SipUri } from '../../src/sip/message.js';
import { aRequest, anInvite } from '../sip/builders.js';
import { binding, INSIDE, interfaces, OUTSIDE, routeContext, sealer } from './proxy-fixtures.js';

const ALICE = 'sip:alice@example.test';

describe('decideRoute: the site domain and the agent’s addresses → location service', () => {
  it('forks to every binding of the AOR, highest q first', () => {
    const d = decideRoute(
      anInvite({ requestUri: 'sip:alice@example.test' }),
      routeContext('outside', {
        [ALICE]: [
          binding(ALICE, 'sip:alice@192.168.77.10:5060', '192.168.77.10', 5060, 500),
          binding(ALICE, 'sip:alice@192.168.77.11:5062', '192.168.77.11', 5062, 900),
        ],
      }),
    );
    expect(d.kind).toBe('forward');
    if (d.kind !== 'forward') return;
    expect(d.targets.map((t) => t.requestUri)).toEqual([
      'sip:alice@192.168.77.11:5062',
      'sip:alice@192.168.77.10:5060',
    ]);
    expect(d.targets[0]!.hop).toEqual({
      kind: 'flow',
      flow: { protocol: 'udp', address: '192.168.77.11', port: 5062 },
    });
    expect(d.calleeAor).toBe(ALICE);
  });

  it('maps a user at the agent’s own address to the default domain', () => {
    const d = decideRoute(
      anInvite({ requestUri: `sip:alice@${INSIDE}:5060` }),
      routeContext('inside', { [ALICE]: [binding(ALICE, 'sip:alice@192.168.77.10', '192.168.77.10')] }),
    );
    expect(d.kind === 'forward' && d.calleeAor).toBe(ALICE);
  });

  it('answers 480 for a known user without bindings and 404 for an unknown one', () => {
    expect(decideRoute(anInvite({ requestUri: 'sip:bob@example.test' }), routeContext('outside'))).toEqual({
      kind: 'reject',
      status: 480,
      reason: 'Temporarily Unavailable',
    });
    expect(
      decideRoute(anInvite({ requestUri: 'sip:nobody@example.test' }), routeContext('outside')),
    ).toMatchObject({
      kind: 'reject',
      status: 404,
    });
  });

  it('leaves a request for the agent itself (no user part) to the core', () => {
    expect(
      decideRoute(aRequest({ method: 'OPTIONS', requestUri: `sip:${INSIDE}` }), routeContext('inside')),
    ).toEqual({
      kind: 'local',
    });
  });

  it('refuses a non-SIP Request-URI with 416', () => {
    expect(decideRoute(anInvite({ requestUri: 'tel:+15551234' }), routeContext('inside'))).toMatchObject({
      kind: 'reject',
      status: 416,
    });
  });
});

describe('decideRoute: foreign domains', () => {
  it('sends a request from the inside to the Request-URI (RFC 3263 later)', () => {
    const d = decideRoute(anInvite({ requestUri: 'sip:carol@far.example' }), routeContext('inside'));
    expect(d.kind === 'forward' && d.targets[0]!.hop.kind === 'uri' && d.targets[0]!.hop.uri.host).toBe(
      'far.example',
    );
  });

  it('prefers the outbound proxy when one is configured', () => {
    const outboundProxy = parseUri('sip:203.0.113.11:5060;lr') as SipUri;
    const d = decideRoute(
      anInvite({ requestUri: 'sip:carol@far.example' }),
      routeContext('inside', {}, { outboundProxy }),
    );
    expect(d.kind === 'forward' && d.targets[0]).toMatchObject({
      via: 'outbound-proxy',
      requestUri: 'sip:carol@far.example',
    });
  });

  it('is no open relay: the outside cannot reach a foreign domain or an address it names', () => {
    expect(
      decideRoute(anInvite({ requestUri: 'sip:carol@far.example' }), routeContext('outside')),
    ).toMatchObject({
      kind: 'reject',
      status: 403,
    });
    // Not even in a dialog-looking request with a plain Route entry of ours.
    const forged = aRequest({
      method: 'BYE',
      requestUri: 'sip:victim@192.168.77.10',
      to: '<sip:x@example.test>;tag=t1',
      headers: [['Route', `<sip:${OUTSIDE}:5060;lr>, <sip:192.168.77.10;lr>`]],
    });
    expect(decideRoute(forged, routeContext('outside'))).toMatchObject({ kind: 'reject', status: 403 });
  });
});

describe('decideRoute: Route processing (RFC 3261 §16.4)', () => {
  it('pops its own loose-route entries and follows the next one', () => {
    const req = aRequest({
      method: 'BYE',
      requestUri: 'sip:carol@203.0.113.10:5060',
      to: '<sip:carol@far.example>;tag=t1',
      headers: [['Route', `<sip:${INSIDE}:5060;lr>, <sip:${OUTSIDE}:5060;lr>, <sip:203.0.113.11;lr>`]],
    });
    const d = decideRoute(req, routeContext('inside'));
    expect(d.kind).toBe('forward');
    if (d.kind !== 'forward') return;
    const routes = getRoutes(d.request);
    expect(routes.ok && routes.value.map((r) => r.raw)).toEqual(['<sip:203.0.113.11;lr>']);
    expect(d.targets[0]!.via).toBe('route');
  });

  it('undoes a strict router: our URI in the Request-URI, the real one last in Route', () => {
    const req = aRequest({
      method: 'BYE',
      requestUri: `sip:${INSIDE}:5060;lr`,
      to: '<sip:carol@far.example>;tag=t1',
      headers: [['Route', '<sip:carol@203.0.113.10:5060>']],
    });
    const d = decideRoute(req, routeContext('inside'));
    expect(d.kind === 'forward' && d.request.requestUri.raw).toBe('sip:carol@203.0.113.10:5060');
    expect(d.kind === 'forward' && getRoutes(d.request).ok && getRoutes(d.request)).toMatchObject({
      value: [],
    });
  });

  it('refuses an unparsable Route with 400', () => {
    const req = aRequest({ method: 'BYE', headers: [['Route', '<sip:bad']] });
    expect(decideRoute(req, routeContext('inside'))).toMatchObject({ kind: 'reject', status: 400 });
  });

  it('routes an in-dialog request from the outside through the sealed contact and route set', () => {
    // The INVITE from alice (inside) as it left: contact sealed, inside route hidden in our entry.
    const invite = anInvite({
      requestUri: 'sip:carol@far.example',
      contact: '<sip:alice@192.168.77.10:5062;transport=udp>',
      headers: [['Record-Route', `<sip:${OUTSIDE}:5060;lr>, <sip:${INSIDE}:5060;lr>, <sip:192.168.77.2;lr>`]],
    });
    const map = interfaces();
    const out = hideForOutside(
      invite,
      { protocol: 'udp', address: '192.168.77.10', port: 5062 },
      { interfaces: map, sealer, out: map.get('outside')!, protocol: 'udp', strip: [], hide: true },
    );
    const contact = /<([^>]+)>/.exec(out.headers.find((h) => h.key === 'contact')!.value)![1]!;
    const rr = out.headers.find((h) => h.key === 'record-route')!.value;
    // carol's BYE: Request-URI = the sealed contact, Route = the (single) entry she saw.
    const bye = aRequest({
      method: 'BYE',
      requestUri: contact,
      to: '<sip:alice@example.test>;tag=a1',
      from: '<sip:carol@far.example>;tag=c1',
      headers: [['Route', rr]],
    });
    const d = decideRoute(bye, routeContext('outside'));
    expect(d.kind).toBe('forward');
    if (d.kind !== 'forward') return;
    expect(d.request.requestUri.raw).toBe('sip:alice@192.168.77.10:5062;transport=udp');
    const routes = getRoutes(d.request);
    expect(routes.ok && routes.value.map((r) => r.raw)).toEqual(['<sip:192.168.77.2;lr>']);
  });

  it('does not open a contact token sealed under another key (404)', () => {
    const req = aRequest({
      method: 'BYE',
      requestUri: `sip:alice@${OUTSIDE}:5060;swc=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`,
      to: '<sip:alice@example.test>;tag=a1',
    });
    expect(decideRoute(req, routeContext('outside'))).toMatchObject({ kind: 'reject', status: 404 });
  });
});
