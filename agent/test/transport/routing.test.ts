import { describe, expect, it } from 'vitest';
import type { Via } from '../../src/sip/message.js';
import { mustSwitchToTcp } from '../../src/transport/mtu.js';
import { routeResponse } from '../../src/transport/response-route.js';
import { normalizeHost, viaStampFor } from '../../src/transport/via-stamp.js';

function via(over: Partial<Via>): Via {
  return {
    protocolName: 'SIP',
    protocolVersion: '2.0',
    transport: 'UDP',
    host: '10.0.0.1',
    port: 5060,
    branch: 'z9hG4bK1',
    received: undefined,
    rport: undefined,
    params: [],
    raw: '',
    ...over,
  };
}

const src = { address: '192.0.2.7', port: 40_000 };

describe('viaStampFor (RFC 3261 §18.2.1, RFC 3581 §4)', () => {
  it('adds received when sent-by differs from the source address', () => {
    expect(viaStampFor(via({}), src)).toEqual({ received: '192.0.2.7' });
  });
  it('adds received for a domain sent-by', () => {
    expect(viaStampFor(via({ host: 'pc.example.com' }), src)).toEqual({ received: '192.0.2.7' });
  });
  it('adds nothing when sent-by is the source and there is no rport', () => {
    expect(viaStampFor(via({ host: '192.0.2.7' }), src)).toBeUndefined();
  });
  it('fills an empty rport and adds received even when equal', () => {
    expect(viaStampFor(via({ host: '192.0.2.7', rport: true }), src)).toEqual({
      received: '192.0.2.7',
      rport: 40_000,
    });
  });
  it('compares IPv6 sent-by without brackets', () => {
    expect(viaStampFor(via({ host: '[::1]' }), { address: '::1', port: 5 })).toBeUndefined();
  });
  it('compares an IPv4-mapped or upper-case source address in normal form', () => {
    expect(viaStampFor(via({ host: '192.0.2.7' }), { address: '::FFFF:192.0.2.7', port: 5 })).toBeUndefined();
    expect(viaStampFor(via({ host: '2001:db8::1' }), { address: '2001:DB8::1', port: 5 })).toBeUndefined();
  });
});

describe('normalizeHost', () => {
  it('keeps IPv4 addresses and lower-case names as they are', () => {
    for (const h of ['192.0.2.7', 'pc.example.com', 'a-b_c']) expect(normalizeHost(h)).toBe(h);
  });
  it('drops IPv6 brackets and the IPv4-mapped prefix, and lower-cases', () => {
    expect(normalizeHost('[2001:DB8::1]')).toBe('2001:db8::1');
    expect(normalizeHost('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeHost('[::FFFF:192.0.2.1]')).toBe('192.0.2.1');
    expect(normalizeHost('PC.Example.COM')).toBe('pc.example.com');
    expect(normalizeHost('::1')).toBe('::1');
  });
});

describe('routeResponse (RFC 3261 §18.2.2, RFC 3581 §4)', () => {
  it('reuses the arrival connection on a reliable transport, falling back to received + sent-by port', () => {
    expect(routeResponse(via({ transport: 'TCP', received: '192.0.2.7' }), { connectionId: 4 })).toEqual({
      kind: 'connection',
      connectionId: 4,
      fallback: { address: '192.0.2.7', port: 5060 },
    });
  });
  it('uses maddr when present', () => {
    const v = via({ params: [{ name: 'maddr', value: '239.1.1.1' }], port: undefined });
    expect(routeResponse(v, {})).toEqual({
      kind: 'endpoint',
      destination: { address: '239.1.1.1', port: 5060 },
    });
  });
  it('uses received and the filled rport', () => {
    expect(routeResponse(via({ received: '192.0.2.7', rport: 40_000 }), {})).toEqual({
      kind: 'endpoint',
      destination: { address: '192.0.2.7', port: 40_000 },
    });
  });
  it('uses received and the sent-by port without rport; default 5061 for TLS', () => {
    expect(routeResponse(via({ received: '192.0.2.7', port: 5070 }), {})).toMatchObject({
      destination: { address: '192.0.2.7', port: 5070 },
    });
    expect(routeResponse(via({ transport: 'TLS', port: undefined }), {})).toMatchObject({
      destination: { address: '10.0.0.1', port: 5061 },
    });
  });
});

describe('mustSwitchToTcp (RFC 3261 §18.1.1)', () => {
  it('switches UDP requests over 1300 bytes when the MTU is unknown', () => {
    expect(mustSwitchToTcp(1300, 'udp')).toBe(false);
    expect(mustSwitchToTcp(1301, 'udp')).toBe(true);
    expect(mustSwitchToTcp(5000, 'tcp')).toBe(false);
  });
  it('uses MTU − 200 when the MTU is known', () => {
    expect(mustSwitchToTcp(7800, 'udp', 9000)).toBe(false);
    expect(mustSwitchToTcp(1201, 'udp', 1400)).toBe(true);
  });
});
