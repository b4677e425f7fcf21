/**
 * resolveTargets over a real DNS server: Debian's dnsmasq on 127.0.0.1 at a free unprivileged port,
 * serving NAPTR/SRV/A/AAAA for example.net and friends from a generated config file.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDnsLookup, createResolver, type DnsQueries } from '../../../src/proxy/resolve/dns-lookup.js';
import { type ResolveResult, resolveTargets, type Target } from '../../../src/proxy/resolve/index.js';
import { ManualClock } from '../../../src/util/clock.js';
import { sequence, sipUri } from './zone.js';

const DNSMASQ = '/usr/sbin/dnsmasq';
const haveDnsmasq = existsSync(DNSMASQ);
const d = haveDnsmasq ? describe : describe.skip;

const ZONE = [
  'local=/example.net/',
  // RFC 3263 §4.1's shape: TCP preferred over UDP; SCTP offered but not supported by us.
  'naptr-record=example.net,10,50,s,SIP+D2T,,_sip._tcp.example.net',
  'naptr-record=example.net,10,60,s,SIP+D2U,,_sip._udp.example.net',
  'naptr-record=example.net,10,40,s,SIP+D2S,,_sip._sctp.example.net',
  'srv-host=_sip._tcp.example.net,sip2.example.net,5062,20,0',
  'srv-host=_sip._tcp.example.net,sip1.example.net,5060,10,0',
  'srv-host=_sip._udp.example.net,sip1.example.net,5060,10,0',
  'host-record=sip1.example.net,192.0.2.1,2001:db8::1,300',
  'host-record=sip2.example.net,192.0.2.2,300',
  // No NAPTR: SRV for UDP (weights 20:10, then a backup), TCP says "not available".
  'srv-host=_sip._udp.failover.example.net,a.failover.example.net,5060,10,20',
  'srv-host=_sip._udp.failover.example.net,b.failover.example.net,5070,10,10',
  'srv-host=_sip._udp.failover.example.net,c.failover.example.net,5080,20,0',
  'srv-host=_sip._tcp.failover.example.net,.',
  'host-record=a.failover.example.net,192.0.2.11,300',
  'host-record=b.failover.example.net,192.0.2.12,300',
  'host-record=c.failover.example.net,192.0.2.13,300',
  // Neither NAPTR nor SRV: the domain's own address.
  'host-record=plain.example.net,192.0.2.30,300',
  // Every SRV says "not available".
  'srv-host=_sip._udp.gone.example.net,.',
  'srv-host=_sip._tcp.gone.example.net,.',
  'host-record=gone.example.net,192.0.2.40,300',
];

let dir: string;
let dnsmasq: ChildProcess | undefined;
let server: string;
let stderr = '';

/** A UDP port that was free a moment ago on 127.0.0.1. */
async function freePort(): Promise<number> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', resolve);
  });
  const { port } = sock.address();
  await new Promise<void>((resolve) => sock.close(resolve));
  return port;
}

/** Starts dnsmasq and waits (bounded) until it answers; undefined if it exited (port taken). */
async function startDnsmasq(port: number): Promise<ChildProcess | undefined> {
  const confFile = join(dir, 'dnsmasq.conf');
  await writeFile(confFile, `${ZONE.join('\n')}\n`);
  const args = [
    '--keep-in-foreground',
    '--no-resolv',
    '--no-hosts',
    '--listen-address=127.0.0.1',
    `--port=${port}`,
    '--bind-interfaces',
    `--conf-file=${confFile}`,
    `--pid-file=${join(dir, 'dnsmasq.pid')}`,
    '--log-facility=-',
  ];
  // As root dnsmasq would drop to `nobody`; stay the user we are (nothing privileged is needed).
  if (process.getuid?.() === 0) args.push('--user=root');
  const child = spawn(DNSMASQ, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const probe = createResolver({ servers: [`127.0.0.1:${port}`], timeoutMs: 200, tries: 1 });
  const deadline = Date.now() + 5_000;
  for (let i = 0; i < 50 && Date.now() < deadline && !exited; i++) {
    try {
      await probe.resolve4('plain.example.net', { ttl: true });
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (!exited) await stop(child);
  return undefined;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 2_000);
  await gone;
  clearTimeout(timer);
}

/** Counts the queries that reach the server. */
function counting(queries: DnsQueries) {
  const calls: string[] = [];
  const counted: DnsQueries = {
    resolveNaptr: (n) => {
      calls.push(`NAPTR ${n}`);
      return queries.resolveNaptr(n);
    },
    resolveSrv: (n) => {
      calls.push(`SRV ${n}`);
      return queries.resolveSrv(n);
    },
    resolve4: (n, o) => {
      calls.push(`A ${n}`);
      return queries.resolve4(n, o);
    },
    resolve6: (n, o) => {
      calls.push(`AAAA ${n}`);
      return queries.resolve6(n, o);
    },
  };
  return { counted, calls };
}

function lookupOnServer(clock = new ManualClock()) {
  const { counted, calls } = counting(createResolver({ servers: [server], timeoutMs: 500, tries: 1 }));
  return { dns: createDnsLookup(counted, { clock }), calls, clock };
}

const short = (r: ResolveResult) =>
  r.ok ? r.targets.map((t: Target) => `${t.transport} ${t.address} ${t.port} ${t.host}`) : `${r.reason}`;

d(
  `RFC 3263 against dnsmasq${haveDnsmasq ? '' : ' (skipped: dnsmasq not installed (apt-get install dnsmasq-base))'}`,
  () => {
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'sipwall-dnsmasq-'));
      for (let attempt = 0; attempt < 3 && dnsmasq === undefined; attempt++) {
        const port = await freePort();
        dnsmasq = await startDnsmasq(port);
        server = `127.0.0.1:${port}`;
      }
      if (dnsmasq === undefined) throw new Error(`dnsmasq did not start: ${stderr}`);
      // The pid file names the process we spawned (keep-in-foreground: no fork).
      expect(Number((await readFile(join(dir, 'dnsmasq.pid'), 'utf8')).trim())).toBe(dnsmasq.pid);
    }, 20_000);

    afterAll(async () => {
      if (dnsmasq !== undefined) await stop(dnsmasq);
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    it('NAPTR → SRV → A/AAAA for example.net, SCTP skipped', async () => {
      const { dns } = lookupOnServer();
      const r = await resolveTargets(sipUri('sip:bob@example.net'), { dns, random: sequence(0) });
      expect(short(r)).toEqual([
        'tcp 192.0.2.1 5060 sip1.example.net',
        'tcp 2001:db8::1 5060 sip1.example.net',
        'tcp 192.0.2.2 5062 sip2.example.net',
        'udp 192.0.2.1 5060 sip1.example.net',
        'udp 2001:db8::1 5060 sip1.example.net',
      ]);
    });

    it('failover.example.net: no NAPTR, SRV weights follow the injected random, TCP "." dropped', async () => {
      const { dns } = lookupOnServer();
      const first = await resolveTargets(sipUri('sip:failover.example.net'), { dns, random: sequence(0) });
      expect(short(first)).toEqual([
        'udp 192.0.2.11 5060 a.failover.example.net',
        'udp 192.0.2.12 5070 b.failover.example.net',
        'udp 192.0.2.13 5080 c.failover.example.net',
      ]);
      // draw 1..30: 0.9 → 28 → b (running 20, 30) first.
      const second = await resolveTargets(sipUri('sip:failover.example.net'), { dns, random: sequence(0.9) });
      expect(short(second)).toEqual([
        'udp 192.0.2.12 5070 b.failover.example.net',
        'udp 192.0.2.11 5060 a.failover.example.net',
        'udp 192.0.2.13 5080 c.failover.example.net',
      ]);
    });

    it('plain.example.net: A at the default port; explicit port and transport param', async () => {
      const { dns, calls } = lookupOnServer();
      const random = sequence(0);
      expect(short(await resolveTargets(sipUri('sip:plain.example.net'), { dns, random }))).toEqual([
        'udp 192.0.2.30 5060 plain.example.net',
      ]);
      expect(short(await resolveTargets(sipUri('sips:plain.example.net:5071'), { dns, random }))).toEqual([
        'tls 192.0.2.30 5071 plain.example.net',
      ]);
      expect(short(await resolveTargets(sipUri('sip:example.net;transport=tcp'), { dns, random }))).toEqual([
        'tcp 192.0.2.1 5060 sip1.example.net',
        'tcp 2001:db8::1 5060 sip1.example.net',
        'tcp 192.0.2.2 5062 sip2.example.net',
      ]);
      expect(calls).not.toContain('NAPTR plain.example.net.');
      expect(calls.filter((c) => c.startsWith('NAPTR'))).toEqual(['NAPTR plain.example.net']);
    });

    it('no-targets, no-such-domain and dns-failure from real answers', async () => {
      const { dns } = lookupOnServer();
      const random = sequence(0);
      expect(await resolveTargets(sipUri('sip:gone.example.net'), { dns, random })).toMatchObject({
        ok: false,
        reason: 'no-targets',
      });
      // NAPTR exists but offers no SIPS service; _sips._tcp does not exist; example.net has no address.
      expect(await resolveTargets(sipUri('sips:example.net'), { dns, random })).toMatchObject({
        ok: false,
        reason: 'no-targets',
      });
      expect(await resolveTargets(sipUri('sip:nowhere.example.net'), { dns, random })).toMatchObject({
        ok: false,
        reason: 'no-such-domain',
      });
      // Outside dnsmasq's local zone and with no upstream: REFUSED.
      const refused = await resolveTargets(sipUri('sip:elsewhere.test'), { dns, random });
      expect(refused).toMatchObject({ ok: false, reason: 'dns-failure' });
      expect(!refused.ok && refused.detail).toContain('EREFUSED');
    });

    it('cache: a second lookup within TTL asks the server nothing; after the SRV/NAPTR TTL only those again', async () => {
      const { dns, calls, clock } = lookupOnServer();
      const random = sequence(0);
      const first = await resolveTargets(sipUri('sip:bob@example.net'), { dns, random });
      expect(calls.toSorted()).toEqual([
        'A sip1.example.net',
        'A sip2.example.net',
        'AAAA sip1.example.net',
        'AAAA sip2.example.net',
        'NAPTR example.net',
        'SRV _sip._tcp.example.net',
        'SRV _sip._udp.example.net',
      ]);
      clock.advance(29_000);
      expect(await resolveTargets(sipUri('sip:bob@example.net'), { dns, random })).toEqual(first);
      expect(calls).toHaveLength(7);
      // At 60 s NAPTR/SRV (recordTtlSec 60) and sip2's missing AAAA (negativeTtlSec 30) expire;
      // the addresses (TTL 300) stay.
      clock.advance(31_000);
      expect(await resolveTargets(sipUri('sip:bob@example.net'), { dns, random })).toEqual(first);
      expect(calls.slice(7).toSorted()).toEqual([
        'AAAA sip2.example.net',
        'NAPTR example.net',
        'SRV _sip._tcp.example.net',
        'SRV _sip._udp.example.net',
      ]);
    });
  },
);
