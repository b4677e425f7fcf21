import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import {
  createDnsLookup,
  createResolver,
  DnsError,
  type DnsQueries,
} from '../../../src/proxy/resolve/dns-lookup.js';
import { ManualClock } from '../../../src/util/clock.js';
import { naptr, srv } from './zone.js';

/** A resolver double: answers per name, c-ares style errors, counts every query. */
function fakeQueries(answers: Record<string, unknown>) {
  const calls: string[] = [];
  const reply = <T>(type: string, name: string): Promise<T> => {
    calls.push(`${type} ${name}`);
    const v = answers[`${type} ${name}`];
    if (v === undefined)
      return Promise.reject(Object.assign(new Error(`query ENOTFOUND ${name}`), { code: 'ENOTFOUND' }));
    if (typeof v === 'string')
      return Promise.reject(Object.assign(new Error(`query ${v} ${name}`), { code: v }));
    return Promise.resolve(v as T);
  };
  const queries: DnsQueries = {
    resolveNaptr: (n) => reply('NAPTR', n),
    resolveSrv: (n) => reply('SRV', n),
    resolve4: (n) => reply('A', n),
    resolve6: (n) => reply('AAAA', n),
  };
  return { queries, calls };
}

describe('createDnsLookup (cache over a resolver)', () => {
  it('A answers are cached for their shortest TTL, then asked again', async () => {
    const clock = new ManualClock(1_000);
    const { queries, calls } = fakeQueries({
      'A sip.example.net': [
        { address: '192.0.2.1', ttl: 30 },
        { address: '192.0.2.2', ttl: 10 },
      ],
    });
    const dns = createDnsLookup(queries, { clock });
    expect(await dns.a('sip.example.net')).toEqual(['192.0.2.1', '192.0.2.2']);
    clock.advance(9_999);
    expect(await dns.a('SIP.example.net.')).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(calls).toEqual(['A sip.example.net']);
    clock.advance(1);
    await dns.a('sip.example.net');
    expect(calls).toHaveLength(2);
  });

  it('TTL 0 is not cached; TTLs are capped by maxTtlSec', async () => {
    const clock = new ManualClock();
    const { queries, calls } = fakeQueries({
      'A zero.example.net': [{ address: '192.0.2.1', ttl: 0 }],
      'AAAA long.example.net': [{ address: '2001:db8::1', ttl: 86_400 }],
    });
    const dns = createDnsLookup(queries, { clock }, { maxTtlSec: 60 });
    await dns.a('zero.example.net');
    await dns.a('zero.example.net');
    await dns.aaaa('long.example.net');
    clock.advance(60_000);
    await dns.aaaa('long.example.net');
    expect(calls).toEqual([
      'A zero.example.net',
      'A zero.example.net',
      'AAAA long.example.net',
      'AAAA long.example.net',
    ]);
  });

  it('NAPTR and SRV use recordTtlSec (node:dns gives no TTL for them)', async () => {
    const clock = new ManualClock();
    const { queries, calls } = fakeQueries({
      'NAPTR example.net': [naptr(10, 10, 'SIP+D2U', '_sip._udp.example.net')],
      'SRV _sip._udp.example.net': [srv('sip.example.net', 5060)],
    });
    const dns = createDnsLookup(queries, { clock }, { recordTtlSec: 5 });
    await dns.naptr('example.net');
    await dns.srv('_sip._udp.example.net');
    clock.advance(4_999);
    await dns.naptr('example.net');
    await dns.srv('_sip._udp.example.net');
    expect(calls).toHaveLength(2);
    clock.advance(1);
    await dns.naptr('example.net');
    expect(calls).toHaveLength(3);
  });

  it('ENOTFOUND and ENODATA resolve [] and are cached for negativeTtlSec', async () => {
    const clock = new ManualClock();
    const { queries, calls } = fakeQueries({ 'AAAA v4only.example.net': 'ENODATA' });
    const dns = createDnsLookup(queries, { clock }, { negativeTtlSec: 2 });
    expect(await dns.aaaa('v4only.example.net')).toEqual([]);
    expect(await dns.srv('_sip._udp.nowhere.example.net')).toEqual([]);
    await dns.aaaa('v4only.example.net');
    expect(calls).toHaveLength(2);
    clock.advance(2_000);
    await dns.aaaa('v4only.example.net');
    expect(calls).toHaveLength(3);
  });

  it('a server failure rejects with DnsError query-failed and is never cached', async () => {
    const clock = new ManualClock();
    const { queries, calls } = fakeQueries({ 'NAPTR broken.example.net': 'ESERVFAIL' });
    const dns = createDnsLookup(queries, { clock });
    const err = await dns.naptr('broken.example.net').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DnsError);
    expect(err).toMatchObject({ code: 'AGENT_ERR_DNS', reason: 'query-failed', dnsCode: 'ESERVFAIL' });
    await dns.naptr('broken.example.net').catch(() => undefined);
    expect(calls).toHaveLength(2);
  });

  it('concurrent identical lookups share one query', async () => {
    const { queries, calls } = fakeQueries({ 'A sip.example.net': [{ address: '192.0.2.1', ttl: 0 }] });
    const dns = createDnsLookup(queries, { clock: new ManualClock() });
    const all = await Promise.all([
      dns.a('sip.example.net'),
      dns.a('sip.example.net'),
      dns.a('sip.example.net'),
    ]);
    expect(all).toEqual([['192.0.2.1'], ['192.0.2.1'], ['192.0.2.1']]);
    expect(calls).toHaveLength(1);
  });

  it('holds at most maxEntries, dropping the least recently used', async () => {
    const answers: Record<string, unknown> = {};
    for (const n of ['a', 'b', 'c']) answers[`A ${n}.example.net`] = [{ address: '192.0.2.1', ttl: 300 }];
    const { queries, calls } = fakeQueries(answers);
    const dns = createDnsLookup(queries, { clock: new ManualClock() }, { maxEntries: 2 });
    await dns.a('a.example.net');
    await dns.a('b.example.net');
    await dns.a('a.example.net'); // hit: a is now the most recent
    await dns.a('c.example.net'); // evicts b
    await dns.a('a.example.net');
    await dns.a('b.example.net');
    expect(calls).toEqual(['A a.example.net', 'A b.example.net', 'A c.example.net', 'A b.example.net']);
  });
});

describe('createResolver', () => {
  it('a server that never answers: the lookup rejects ETIMEOUT after timeoutMs × tries', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    let received = 0;
    silent.on('message', () => {
      received++;
    });
    try {
      const queries = createResolver({
        servers: [`127.0.0.1:${silent.address().port}`],
        timeoutMs: 100,
        tries: 2,
      });
      const dns = createDnsLookup(queries, { clock: new ManualClock() });
      const started = Date.now();
      const err = await dns.srv('_sip._udp.example.net').catch((e: unknown) => e);
      expect(err).toMatchObject({ reason: 'query-failed', dnsCode: 'ETIMEOUT' });
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(received).toBeGreaterThanOrEqual(2);
    } finally {
      await new Promise<void>((resolve) => silent.close(resolve));
    }
  });

  it('accepts address, address:port and [v6]:port', () => {
    expect(() =>
      createResolver({ servers: ['192.0.2.53', '192.0.2.54:5353', '2001:db8::53', '[2001:db8::54]:53'] }),
    ).not.toThrow();
    expect(() => createResolver({ servers: [] })).not.toThrow();
  });

  it('a server that is no address is a DnsError bad-server naming the setting', () => {
    let err: unknown;
    try {
      createResolver({ servers: ['dns.example.net'] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DnsError);
    expect(err).toMatchObject({ reason: 'bad-server' });
    expect((err as Error).message).toContain('sip.proxy.dnsServers');
  });
});
