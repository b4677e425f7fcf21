import { describe, expect, it } from 'vitest';
import {
  MAX_TARGETS,
  RESOLVE_FAILURE_STATUS,
  type ResolveResult,
  resolveTargets,
  type Target,
} from '../../../src/proxy/resolve/index.js';
import { naptr, sequence, sipUri, srv, type Zone, zoneLookup } from './zone.js';

const t = (transport: Target['transport'], address: string, port: number, host: string): Target => ({
  transport,
  address,
  port,
  host,
});

async function resolve(text: string, zone: Zone, random = sequence(0)) {
  const dns = zoneLookup(zone);
  const result = await resolveTargets(sipUri(text), { dns, random });
  return { result, asked: dns.asked };
}

function targetsOf(result: ResolveResult): readonly Target[] {
  if (!result.ok) throw new Error(`expected targets, got ${result.reason}: ${result.detail}`);
  return result.targets;
}

/** example.net as RFC 3263 §4.1's example: TCP preferred over UDP by NAPTR, two TCP servers by priority. */
const EXAMPLE: Zone = {
  naptr: {
    'example.net': [
      naptr(10, 60, 'SIP+D2U', '_sip._udp.example.net'),
      naptr(10, 50, 'SIP+D2T', '_sip._tcp.example.net'),
      naptr(10, 40, 'SIP+D2S', '_sip._sctp.example.net'),
    ],
  },
  srv: {
    '_sip._tcp.example.net': [srv('sip2.example.net', 5062, 20), srv('sip1.example.net', 5060, 10)],
    '_sip._udp.example.net': [srv('sip1.example.net', 5060, 10)],
  },
  a: { 'sip1.example.net': ['192.0.2.1'], 'sip2.example.net': ['192.0.2.2'], 'example.net': ['192.0.2.100'] },
  aaaa: { 'sip1.example.net': ['2001:db8::1'] },
};

describe('resolveTargets (RFC 3263 §4)', () => {
  it('NAPTR → SRV → A/AAAA: NAPTR order/preference, SRV priority, IPv4 before IPv6; SCTP skipped', async () => {
    const { result, asked } = await resolve('sip:bob@example.net', EXAMPLE);
    expect(targetsOf(result)).toEqual([
      t('tcp', '192.0.2.1', 5060, 'sip1.example.net'),
      t('tcp', '2001:db8::1', 5060, 'sip1.example.net'),
      t('tcp', '192.0.2.2', 5062, 'sip2.example.net'),
      t('udp', '192.0.2.1', 5060, 'sip1.example.net'),
      t('udp', '2001:db8::1', 5060, 'sip1.example.net'),
    ]);
    expect(asked).not.toContain('SRV _sip._sctp.example.net');
    expect(asked).not.toContain('A example.net');
  });

  it('without NAPTR: SRV for UDP then TCP, never _sips for a sip: URI', async () => {
    const zone: Zone = { ...EXAMPLE, naptr: {} };
    const { result, asked } = await resolve('sip:bob@example.net', zone);
    expect(targetsOf(result).map((x) => `${x.transport} ${x.address}:${x.port}`)).toEqual([
      'udp 192.0.2.1:5060',
      'udp 2001:db8::1:5060',
      'tcp 192.0.2.1:5060',
      'tcp 2001:db8::1:5060',
      'tcp 192.0.2.2:5062',
    ]);
    expect(asked.filter((q) => q.startsWith('SRV'))).toEqual([
      'SRV _sip._udp.example.net',
      'SRV _sip._tcp.example.net',
    ]);
  });

  it('NAPTR with only unsupported services counts as no NAPTR', async () => {
    const zone: Zone = {
      ...EXAMPLE,
      naptr: { 'example.net': [naptr(10, 10, 'SIP+D2S', '_sip._sctp.example.net')] },
    };
    const { result } = await resolve('sip:bob@example.net', zone);
    expect(targetsOf(result)[0]).toEqual(t('udp', '192.0.2.1', 5060, 'sip1.example.net'));
  });

  it('sips: without NAPTR queries only _sips._tcp and uses TLS', async () => {
    const zone: Zone = {
      srv: { '_sips._tcp.secure.example.net': [srv('tls1.example.net', 5061)] },
      a: { 'tls1.example.net': ['192.0.2.11'] },
    };
    const { result, asked } = await resolve('sips:bob@secure.example.net', zone);
    expect(targetsOf(result)).toEqual([t('tls', '192.0.2.11', 5061, 'tls1.example.net')]);
    expect(asked.filter((q) => q.startsWith('SRV'))).toEqual(['SRV _sips._tcp.secure.example.net']);
  });

  it('sips: with NAPTR keeps only SIPS+D2T; sip: keeps it in its NAPTR place', async () => {
    const zone: Zone = {
      naptr: {
        'mixed.example.net': [
          naptr(10, 10, 'SIP+D2U', '_sip._udp.mixed.example.net'),
          naptr(10, 20, 'SIPS+D2T', '_sips._tcp.mixed.example.net'),
        ],
      },
      srv: {
        '_sip._udp.mixed.example.net': [srv('u.example.net', 5060)],
        '_sips._tcp.mixed.example.net': [srv('s.example.net', 5061)],
      },
      a: { 'u.example.net': ['192.0.2.21'], 's.example.net': ['192.0.2.22'] },
    };
    expect(targetsOf((await resolve('sips:mixed.example.net', zone)).result)).toEqual([
      t('tls', '192.0.2.22', 5061, 's.example.net'),
    ]);
    expect(targetsOf((await resolve('sip:mixed.example.net', zone)).result)).toEqual([
      t('udp', '192.0.2.21', 5060, 'u.example.net'),
      t('tls', '192.0.2.22', 5061, 's.example.net'),
    ]);
  });

  it('no NAPTR and no SRV: the domain A/AAAA at the default port (UDP 5060; TLS 5061 for sips:)', async () => {
    const zone: Zone = {
      a: { 'plain.example.net': ['192.0.2.30'] },
      aaaa: { 'plain.example.net': ['2001:db8::30'] },
    };
    expect(targetsOf((await resolve('sip:plain.example.net', zone)).result)).toEqual([
      t('udp', '192.0.2.30', 5060, 'plain.example.net'),
      t('udp', '2001:db8::30', 5060, 'plain.example.net'),
    ]);
    expect(targetsOf((await resolve('sips:plain.example.net', zone)).result)).toEqual([
      t('tls', '192.0.2.30', 5061, 'plain.example.net'),
      t('tls', '2001:db8::30', 5061, 'plain.example.net'),
    ]);
  });

  it("NAPTR chose TCP but its SRV is empty: the domain's A record with TCP at 5060", async () => {
    const zone: Zone = {
      naptr: { 'x.example.net': [naptr(10, 10, 'SIP+D2T', '_sip._tcp.x.example.net')] },
      a: { 'x.example.net': ['192.0.2.40'] },
    };
    expect(targetsOf((await resolve('sip:x.example.net', zone)).result)).toEqual([
      t('tcp', '192.0.2.40', 5060, 'x.example.net'),
    ]);
  });

  it("SRV target '.' means not available: no targets and no fallback to the domain's A record", async () => {
    const zone: Zone = {
      srv: { '_sip._udp.gone.example.net': [srv('', 0)], '_sip._tcp.gone.example.net': [srv('.', 0)] },
      a: { 'gone.example.net': ['192.0.2.50'] },
    };
    const { result, asked } = await resolve('sip:gone.example.net', zone);
    expect(result).toMatchObject({ ok: false, reason: 'no-targets' });
    expect(asked).not.toContain('A gone.example.net');
  });

  it('explicit port: A/AAAA only, no NAPTR or SRV', async () => {
    const { result, asked } = await resolve('sip:bob@example.net:5080', EXAMPLE);
    expect(targetsOf(result)).toEqual([t('udp', '192.0.2.100', 5080, 'example.net')]);
    expect(asked).toEqual(['A example.net', 'AAAA example.net']);
  });

  it('transport param: SRV for that transport only, then A/AAAA at the default port', async () => {
    const withSrv = await resolve('sip:bob@example.net;transport=tcp', EXAMPLE);
    expect(targetsOf(withSrv.result)[0]).toEqual(t('tcp', '192.0.2.1', 5060, 'sip1.example.net'));
    expect(withSrv.asked.filter((q) => !q.startsWith('A'))).toEqual(['SRV _sip._tcp.example.net']);

    const noSrv = await resolve('sip:bob@plain.example.net;transport=tcp', {
      a: { 'plain.example.net': ['192.0.2.30'] },
    });
    expect(targetsOf(noSrv.result)).toEqual([t('tcp', '192.0.2.30', 5060, 'plain.example.net')]);
    expect(noSrv.asked).toEqual([
      'SRV _sip._tcp.plain.example.net',
      'A plain.example.net',
      'AAAA plain.example.net',
    ]);
  });

  it('numeric IPv4 and bracketed IPv6 hosts need no DNS', async () => {
    const v4 = await resolve('sip:bob@192.0.2.5', EXAMPLE);
    expect(targetsOf(v4.result)).toEqual([t('udp', '192.0.2.5', 5060, '192.0.2.5')]);
    const v6 = await resolve('sips:bob@[2001:DB8::5]:5071', EXAMPLE);
    expect(targetsOf(v6.result)).toEqual([t('tls', '2001:db8::5', 5071, '2001:db8::5')]);
    expect([...v4.asked, ...v6.asked]).toEqual([]);
  });

  it('nothing anywhere: no-such-domain', async () => {
    const { result } = await resolve('sip:bob@nowhere.example.net', {});
    expect(result).toEqual({
      ok: false,
      reason: 'no-such-domain',
      detail: 'no NAPTR, SRV or address records for nowhere.example.net',
    });
  });

  it('SRV target without address records: no-targets', async () => {
    const zone: Zone = { srv: { '_sip._udp.y.example.net': [srv('dangling.example.net', 5060)] } };
    expect((await resolve('sip:y.example.net', zone)).result).toMatchObject({
      ok: false,
      reason: 'no-targets',
    });
  });

  it('unsupported transport: no-targets with the reason', async () => {
    const { result, asked } = await resolve('sip:bob@example.net;transport=sctp', EXAMPLE);
    expect(result).toMatchObject({ ok: false, reason: 'no-targets' });
    expect(!result.ok && result.detail).toContain('transport=sctp');
    expect(asked).toEqual([]);
  });

  it('a failing NAPTR lookup does not hide working SRV records', async () => {
    const { result } = await resolve('sip:bob@example.net', { ...EXAMPLE, failing: ['NAPTR example.net'] });
    expect(targetsOf(result)[0]).toEqual(t('udp', '192.0.2.1', 5060, 'sip1.example.net'));
  });

  it('failures and no target: dns-failure naming the lookups that failed', async () => {
    const zone: Zone = {
      failing: [
        'NAPTR down.example.net',
        'SRV _sip._udp.down.example.net',
        'SRV _sip._tcp.down.example.net',
        'A down.example.net',
      ],
    };
    const { result } = await resolve('sip:down.example.net', zone);
    expect(result).toMatchObject({ ok: false, reason: 'dns-failure' });
    expect(!result.ok && result.detail).toContain('NAPTR down.example.net: ESERVFAIL');
    expect(!result.ok && result.detail).toContain('A down.example.net: ESERVFAIL');
  });

  it('duplicates removed and the list capped', async () => {
    const many = Array.from({ length: 24 }, (_, i) => srv(`h${i}.example.net`, 5060, i));
    const a: Record<string, string[]> = {};
    for (let i = 0; i < 24; i++) a[`h${i}.example.net`] = [`192.0.2.${i + 1}`, '192.0.2.1'];
    const { result } = await resolve('sip:big.example.net;transport=udp', {
      srv: { '_sip._udp.big.example.net': many },
      a,
    });
    const targets = targetsOf(result);
    expect(targets).toHaveLength(MAX_TARGETS);
    expect(new Set(targets.map((x) => x.address)).size).toBe(MAX_TARGETS);
  });

  it('families: IPv4 only asks no AAAA', async () => {
    const dns = zoneLookup(EXAMPLE);
    const result = await resolveTargets(sipUri('sip:bob@example.net:5080'), {
      dns,
      random: sequence(0),
      families: ['ipv4'],
    });
    expect(targetsOf(result)).toHaveLength(1);
    expect(dns.asked).toEqual(['A example.net']);
  });

  it('one table from failure to status: 404 / 480 / 503', () => {
    expect(RESOLVE_FAILURE_STATUS['no-such-domain'].status).toBe(404);
    expect(RESOLVE_FAILURE_STATUS['no-targets'].status).toBe(480);
    expect(RESOLVE_FAILURE_STATUS['dns-failure'].status).toBe(503);
  });
});
