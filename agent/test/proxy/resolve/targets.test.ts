import { describe, expect, it } from 'vitest';
import {
  finishTargets,
  MAX_TARGETS,
  orderSrv,
  planLookup,
  selectNaptr,
  srvQueriesWithoutNaptr,
  type Target,
} from '../../../src/proxy/resolve/targets.js';
import { naptr, seeded, sequence, sipUri, srv } from './zone.js';

describe('planLookup (RFC 3263 §4.1)', () => {
  it.each([
    ['sip:alice@192.0.2.5', 'udp', '192.0.2.5', 5060],
    ['sips:alice@192.0.2.5', 'tls', '192.0.2.5', 5061],
    ['sip:192.0.2.5:5080;transport=tcp', 'tcp', '192.0.2.5', 5080],
    ['sip:192.0.2.5;transport=TLS', 'tls', '192.0.2.5', 5061],
    ['sip:bob@[2001:db8::1]', 'udp', '2001:db8::1', 5060],
    ['sips:bob@[2001:db8::1]:5071', 'tls', '2001:db8::1', 5071],
    ['sip:bob@example.net;maddr=192.0.2.9', 'udp', '192.0.2.9', 5060],
  ])('numeric target %s → %s %s:%i without DNS', (text, transport, address, port) => {
    expect(planLookup(sipUri(text))).toEqual({
      kind: 'numeric',
      target: { transport, address, port, host: address },
    });
  });

  it.each([
    ['sip:bob@example.net:5080', 'udp', 5080],
    ['sips:bob@example.net:5081', 'tls', 5081],
    ['sip:bob@example.net:5070;transport=tcp', 'tcp', 5070],
  ])('domain with explicit port %s → A/AAAA only, %s port %i', (text, transport, port) => {
    expect(planLookup(sipUri(text))).toEqual({ kind: 'address', name: 'example.net', port, transport });
  });

  it.each([
    ['sip:bob@example.net;transport=udp', 'udp', '_sip._udp.example.net'],
    ['sip:bob@example.net;transport=tcp', 'tcp', '_sip._tcp.example.net'],
    ['sip:bob@example.net;transport=TCP', 'tcp', '_sip._tcp.example.net'],
    ['sip:bob@example.net;transport=tls', 'tls', '_sips._tcp.example.net'],
    ['sips:bob@example.net;transport=tcp', 'tls', '_sips._tcp.example.net'],
  ])('transport param without port %s → SRV %s at %s', (text, transport, name) => {
    expect(planLookup(sipUri(text))).toEqual({
      kind: 'srv',
      name: 'example.net',
      queries: [{ transport, name }],
      fallback: transport,
    });
  });

  it.each([
    ['sip:bob@example.net;transport=sctp', 'transport=sctp'],
    ['sip:bob@example.net;transport=ws', 'transport=ws'],
    ['sips:bob@example.net;transport=udp', 'transport=udp'],
    ['sip:bob@example.net;maddr=-bad-', 'maddr=-bad-'],
    ['sip:bob@example.net;maddr=192.0.2.1:5060', 'maddr=192.0.2.1:5060'],
  ])('unusable %s', (text, detail) => {
    const plan = planLookup(sipUri(text));
    expect(plan.kind).toBe('unusable');
    expect(plan.kind === 'unusable' && plan.detail).toContain(detail);
  });

  it('a bare domain goes to NAPTR, remembering sips', () => {
    expect(planLookup(sipUri('sip:bob@example.net'))).toEqual({
      kind: 'naptr',
      name: 'example.net',
      secure: false,
    });
    expect(planLookup(sipUri('sips:example.net'))).toEqual({
      kind: 'naptr',
      name: 'example.net',
      secure: true,
    });
  });

  it('maddr that is a domain is the TARGET', () => {
    expect(planLookup(sipUri('sip:bob@192.0.2.1;maddr=proxy.example.org'))).toEqual({
      kind: 'naptr',
      name: 'proxy.example.org',
      secure: false,
    });
  });
});

describe('selectNaptr', () => {
  const records = [
    naptr(20, 10, 'SIP+D2U', '_sip._udp.late.example.net'),
    naptr(10, 90, 'SIP+D2U', '_sip._udp.example.net'),
    naptr(10, 50, 'SIP+D2T', '_sip._tcp.example.net'),
    naptr(10, 70, 'SIPS+D2T', '_sips._tcp.example.net.'),
    naptr(10, 10, 'SIP+D2S', '_sip._sctp.example.net'),
    naptr(10, 10, 'SIP+D2W', '_sip._ws.example.net'),
    naptr(10, 10, 'E2U+sip', '_sip._udp.enum.example.net'),
    naptr(10, 10, 'SIP+D2U', 'other.example.net', ''),
    naptr(10, 10, 'SIP+D2U', 'a.example.net', 'a'),
    naptr(10, 10, 'SIP+D2U', 'u.example.net', 'u'),
  ];

  it('keeps terminal records of supported services, by order then preference', () => {
    expect(selectNaptr(records, false)).toEqual([
      { transport: 'tcp', name: '_sip._tcp.example.net' },
      { transport: 'tls', name: '_sips._tcp.example.net' },
      { transport: 'udp', name: '_sip._udp.example.net' },
      { transport: 'udp', name: '_sip._udp.late.example.net' },
    ]);
  });

  it('a sips: URI keeps only SIPS+D2T', () => {
    expect(selectNaptr(records, true)).toEqual([{ transport: 'tls', name: '_sips._tcp.example.net' }]);
  });

  it('compares flags and services case-insensitively and drops repeats', () => {
    const twice = [
      naptr(10, 10, 'sip+d2t', '_sip._tcp.x.net', 'S'),
      naptr(10, 20, 'SIP+D2T', '_sip._tcp.x.net'),
    ];
    expect(selectNaptr(twice, false)).toEqual([{ transport: 'tcp', name: '_sip._tcp.x.net' }]);
  });

  it('without NAPTR: UDP then TCP for sip:, TLS only for sips:', () => {
    expect(srvQueriesWithoutNaptr('example.net', false)).toEqual([
      { transport: 'udp', name: '_sip._udp.example.net' },
      { transport: 'tcp', name: '_sip._tcp.example.net' },
    ]);
    expect(srvQueriesWithoutNaptr('example.net', true)).toEqual([
      { transport: 'tls', name: '_sips._tcp.example.net' },
    ]);
  });
});

describe('orderSrv (RFC 2782)', () => {
  const names = (rs: ReturnType<typeof orderSrv>) => rs.map((r) => r.name);

  it('lowest priority first, whatever the order received', () => {
    const rs = [srv('c', 5060, 30), srv('a', 5060, 10), srv('b', 5060, 20)];
    expect(names(orderSrv(rs, sequence(0)))).toEqual(['a', 'b', 'c']);
  });

  it('weighted selection within a priority follows the injected random sequence', () => {
    const rs = [srv('a', 5060, 10, 60), srv('b', 5060, 10, 30), srv('c', 5060, 10, 10)];
    // draw 1..100: 0.7 → 71 → b (running 60, 90); then 1..70: 0 → 1 → a; then c.
    expect(names(orderSrv(rs, sequence(0.7, 0)))).toEqual(['b', 'a', 'c']);
    // 0.95 → 96 → c; then 1..90: 0.9 → 82 → b; then a.
    expect(names(orderSrv(rs, sequence(0.95, 0.9)))).toEqual(['c', 'b', 'a']);
  });

  it('weight 0 records come first in the running sum: chosen only on a draw of 0', () => {
    const rs = [srv('heavy', 5060, 10, 10), srv('zero', 5060, 10, 0)];
    // draw 0..10: 0 → zero; anything else → heavy.
    expect(names(orderSrv(rs, sequence(0)))).toEqual(['zero', 'heavy']);
    expect(names(orderSrv(rs, sequence(0.5)))).toEqual(['heavy', 'zero']);
  });

  it('all weights 0: by target name then port within the priority', () => {
    const rs = [srv('z', 3, 10), srv('x', 2, 10), srv('y', 2, 10), srv('x', 1, 10)];
    expect(orderSrv(rs, sequence(0.99)).map((r) => `${r.name}:${r.port}`)).toEqual([
      'x:1',
      'x:2',
      'y:2',
      'z:3',
    ]);
  });

  it('the order the server sent does not change the result of the same draws', () => {
    const rs = [srv('a', 5060, 10, 20), srv('b', 5070, 10, 10), srv('c', 5080, 10, 5)];
    const reversed = [...rs].reverse();
    for (const r of [0, 0.3, 0.6, 0.9, 0.99]) {
      expect(names(orderSrv(reversed, sequence(r, r)))).toEqual(names(orderSrv(rs, sequence(r, r))));
    }
  });

  it("target '.' (node: '') is dropped", () => {
    expect(orderSrv([srv('', 1, 0), srv('.', 1, 0), srv('a', 5060)], sequence(0))).toEqual([srv('a', 5060)]);
  });

  it('a 2:1 weight split is picked first 2/3 of the time (exactly over an even grid, ~ over 1000 seeded draws)', () => {
    const rs = [srv('two', 5060, 10, 2), srv('one', 5060, 10, 1)];
    let grid = 0;
    for (let k = 0; k < 3000; k++) if (orderSrv(rs, sequence((k + 0.5) / 3000))[0]?.name === 'two') grid++;
    expect(grid).toBe(2000);

    const random = seeded(3263);
    let firsts = 0;
    for (let i = 0; i < 1000; i++) if (orderSrv(rs, random)[0]?.name === 'two') firsts++;
    // 2/3 ± 4.5σ (σ ≈ 0.0149 for 1000 draws).
    expect(firsts / 1000).toBeGreaterThan(0.6);
    expect(firsts / 1000).toBeLessThan(0.734);
  });
});

describe('finishTargets', () => {
  const t = (address: string, port = 5060, transport: Target['transport'] = 'udp'): Target => ({
    transport,
    address,
    port,
    host: 'h',
  });

  it('drops repeated (transport, address, port), keeping the first', () => {
    const list = [t('192.0.2.1'), t('192.0.2.1', 5060, 'tcp'), t('192.0.2.1'), t('192.0.2.1', 5062)];
    expect(finishTargets(list)).toEqual([t('192.0.2.1'), t('192.0.2.1', 5060, 'tcp'), t('192.0.2.1', 5062)]);
  });

  it(`caps the list at ${MAX_TARGETS}`, () => {
    const list = Array.from({ length: 40 }, (_, i) => t(`192.0.2.${i + 1}`));
    expect(finishTargets(list)).toHaveLength(MAX_TARGETS);
  });
});
