/**
 * RFC 3263 §4 server location, the pure half: which lookups a URI needs and how DNS answers become an
 * ordered target list. No I/O, clock or ambient randomness; `index.ts` walks the steps over a {@link DnsLookup}.
 */
import type { SipUri } from '../../sip/message.js';
import { parseHostPort } from '../../sip/uri.js';

export type Transport = 'udp' | 'tcp' | 'tls';

/** One place to send the request; the proxy tries them in order (RFC 3263 §4.3 failover). */
export interface Target {
  readonly transport: Transport;
  /** IP address without brackets. */
  readonly address: string;
  readonly port: number;
  /** The name the address came from (SRV target or the domain), or the address itself for a numeric host. */
  readonly host: string;
}

/** As `node:dns` returns it. */
export interface NaptrRecord {
  readonly flags: string;
  readonly service: string;
  readonly regexp: string;
  readonly replacement: string;
  readonly order: number;
  readonly preference: number;
}

/** As `node:dns` returns it; `name` is the SRV target (`''` or `.` = service not available). */
export interface SrvRecord {
  readonly name: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

/**
 * The DNS seam. A name or record type that does not exist resolves `[]` (NXDOMAIN/NODATA); only a failure
 * to get an answer (timeout, SERVFAIL, REFUSED …) rejects, so the caller can tell "DNS failed" from "no such domain".
 */
export interface DnsLookup {
  naptr(name: string): Promise<readonly NaptrRecord[]>;
  srv(name: string): Promise<readonly SrvRecord[]>;
  a(name: string): Promise<readonly string[]>;
  aaaa(name: string): Promise<readonly string[]>;
}

export type AddressFamily = 'ipv4' | 'ipv6';

/** Upper bound on the targets of one request (and on the SRV queries and records followed). */
export const MAX_TARGETS = 16;

/** RFC 3261 §19.1.2: 5060 for UDP/TCP, 5061 for TLS. */
export const DEFAULT_PORT: Readonly<Record<Transport, number>> = { udp: 5060, tcp: 5060, tls: 5061 };

/** An SRV name to query and the transport its targets are reached with. */
export interface SrvQuery {
  readonly transport: Transport;
  readonly name: string;
}

/** What RFC 3263 §4.1/§4.2 says to do for a URI. */
export type LookupPlan =
  /** Numeric TARGET: no DNS at all. */
  | { readonly kind: 'numeric'; readonly target: Target }
  /** Domain with an explicit port: A/AAAA only. */
  | { readonly kind: 'address'; readonly name: string; readonly port: number; readonly transport: Transport }
  /** Domain with `;transport=` and no port: SRV for that transport, then A/AAAA at the default port. */
  | {
      readonly kind: 'srv';
      readonly name: string;
      readonly queries: readonly SrvQuery[];
      readonly fallback: Transport;
    }
  /** Domain alone: NAPTR, then SRV per chosen NAPTR (or per supported transport), then A/AAAA. */
  | { readonly kind: 'naptr'; readonly name: string; readonly secure: boolean }
  /** The URI cannot be reached with what we support (`transport=sctp`, `sips:` over UDP, bad maddr). */
  | { readonly kind: 'unusable'; readonly detail: string };

/** RFC 3263 §4 first step: TARGET (maddr, else host), transport and port, and which lookups follow. */
export function planLookup(uri: SipUri): LookupPlan {
  const secure = uri.scheme === 'sips';
  const param = transportParam(uri);
  let transport: Transport | undefined;
  if (param !== undefined) {
    transport = transportOf(param, secure);
    if (transport === undefined) {
      return { kind: 'unusable', detail: `transport=${param} is not supported for a ${uri.scheme}: URI` };
    }
  }

  let host = uri.host;
  let hostKind = uri.hostKind;
  const maddr = paramValue(uri, 'maddr');
  if (maddr !== undefined) {
    const hp = parseHostPort(maddr);
    if (hp === undefined || hp.port !== undefined || hp.end !== maddr.length) {
      return { kind: 'unusable', detail: `maddr=${maddr} is not a host` };
    }
    host = hp.host;
    hostKind = hp.hostKind;
  }

  if (hostKind !== 'domain') {
    // §4.1: numeric TARGET without transport: UDP for sip:, TCP (TLS) for sips:.
    const t = transport ?? (secure ? 'tls' : 'udp');
    const address = unbracket(host);
    return {
      kind: 'numeric',
      target: { transport: t, address, port: uri.port ?? DEFAULT_PORT[t], host: address },
    };
  }
  const name = stripDot(host);
  if (uri.port !== undefined) {
    // §4.1: explicit port, no transport: UDP for sip:, TCP (TLS) for sips:. §4.2: A/AAAA only.
    return { kind: 'address', name, port: uri.port, transport: transport ?? (secure ? 'tls' : 'udp') };
  }
  if (transport !== undefined) {
    // §4.2: transport known, no port: SRV for that transport.
    return {
      kind: 'srv',
      name,
      queries: [{ transport, name: srvName(transport, secure, name) }],
      fallback: transport,
    };
  }
  return { kind: 'naptr', name, secure };
}

/** `_sip._udp.`, `_sip._tcp.` or `_sips._tcp.` (§4.2: the service is `_sips` for SIPS, and for TLS). */
export function srvName(transport: Transport, secure: boolean, domain: string): string {
  if (transport === 'tls' || secure) return `_sips._tcp.${domain}`;
  return transport === 'udp' ? `_sip._udp.${domain}` : `_sip._tcp.${domain}`;
}

/** §4.1 without NAPTR: an SRV query per supported transport, UDP before TCP; `sips:` only TLS. */
export function srvQueriesWithoutNaptr(domain: string, secure: boolean): SrvQuery[] {
  if (secure) return [{ transport: 'tls', name: srvName('tls', true, domain) }];
  return [
    { transport: 'udp', name: srvName('udp', false, domain) },
    { transport: 'tcp', name: srvName('tcp', false, domain) },
  ];
}

/** §4.2 last resort: the transport for the domain's own A/AAAA records when no SRV record exists. */
export function fallbackTransport(secure: boolean, chosen: readonly SrvQuery[]): Transport {
  // "the transport protocol determined previously": the most preferred NAPTR's, else UDP / TLS.
  return chosen[0]?.transport ?? (secure ? 'tls' : 'udp');
}

const NAPTR_SERVICES: Readonly<Record<string, Transport>> = {
  'SIP+D2U': 'udp',
  'SIP+D2T': 'tcp',
  'SIPS+D2T': 'tls',
};

/**
 * §4.1 NAPTR selection: terminal (`s` flag) records of the services we support, by order then preference.
 * A `sips:` URI keeps only `SIPS+` services; a `sip:` URI keeps them too (we speak TLS).
 * Every usable record is kept, not just the first order (RFC 3403 §4 stops at the first order that matches;
 * here the later ones are the failover list, as most SIP stacks do).
 */
export function selectNaptr(records: readonly NaptrRecord[], secure: boolean): SrvQuery[] {
  const usable = records
    .filter((r) => r.flags.toLowerCase() === 's' && r.regexp === '')
    .map((r) => ({ r, transport: NAPTR_SERVICES[r.service.toUpperCase()], name: stripDot(r.replacement) }))
    .filter((x): x is { r: NaptrRecord; transport: Transport; name: string } => {
      if (x.transport === undefined || x.name === '') return false;
      return !secure || x.transport === 'tls';
    })
    .sort((x, y) => x.r.order - y.r.order || x.r.preference - y.r.preference);
  const out: SrvQuery[] = [];
  const seen = new Set<string>();
  for (const { transport, name } of usable) {
    const key = `${transport} ${name.toLowerCase()}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ transport, name });
    if (out.length >= MAX_TARGETS) break;
  }
  return out;
}

/** SRV target `.` (node returns `''`): "the service is decidedly not available at this domain" (RFC 2782). */
export function isNoService(r: SrvRecord): boolean {
  return r.name === '' || r.name === '.';
}

/**
 * RFC 2782 ordering: lowest priority first; within a priority, weighted random selection repeated until every
 * record is placed. Weight-0 records go first in the running sum and the draw includes 0 only when there are
 * such records (their "very small chance"); without them the draw is 1..sum so weights split exactly
 * (the RFC's 0..sum draw would give the first record one extra share). Records with target `.` are dropped.
 */
export function orderSrv(records: readonly SrvRecord[], random: () => number): SrvRecord[] {
  const byPriority = new Map<number, SrvRecord[]>();
  for (const r of records) {
    if (isNoService(r)) continue;
    const list = byPriority.get(r.priority);
    if (list === undefined) byPriority.set(r.priority, [r]);
    else list.push(r);
  }
  const out: SrvRecord[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    const group = byPriority.get(priority) ?? [];
    // "Arrange … in any order, except … weight 0 … at the beginning": zero weights first, then by target
    // and port, so the same answer and the same draws give the same order whatever order the server sent.
    const left = group.sort(
      (x, y) =>
        Number(x.weight !== 0) - Number(y.weight !== 0) ||
        (x.name < y.name ? -1 : x.name > y.name ? 1 : 0) ||
        x.port - y.port,
    );
    while (left.length > 0) {
      const i = pickWeighted(left, random);
      out.push(left[i]!);
      left.splice(i, 1);
    }
  }
  return out;
}

function pickWeighted(list: readonly SrvRecord[], random: () => number): number {
  let sum = 0;
  for (const r of list) sum += r.weight;
  if (sum === 0) return 0;
  const low = list[0]!.weight === 0 ? 0 : 1;
  const draw = low + Math.min(sum - low, Math.floor(random() * (sum - low + 1)));
  let running = 0;
  for (let i = 0; i < list.length; i++) {
    running += list[i]!.weight;
    if (running >= draw) return i;
  }
  return list.length - 1;
}

/** A host's addresses as targets, IPv4 before IPv6 unless `families` says otherwise. */
export function addressTargets(
  host: string,
  port: number,
  transport: Transport,
  addresses: { readonly ipv4: readonly string[]; readonly ipv6: readonly string[] },
  families: readonly AddressFamily[] = ['ipv4', 'ipv6'],
): Target[] {
  const out: Target[] = [];
  for (const family of families) {
    for (const address of addresses[family]) out.push({ transport, address, port, host });
  }
  return out;
}

/** Drops repeats of (transport, address, port), keeping the first, and caps the list at {@link MAX_TARGETS}. */
export function finishTargets(targets: readonly Target[]): Target[] {
  const out: Target[] = [];
  const seen = new Set<string>();
  for (const t of targets) {
    const key = `${t.transport} ${t.address.toLowerCase()} ${t.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(t);
    if (out.length >= MAX_TARGETS) break;
  }
  return out;
}

function transportParam(uri: SipUri): string | undefined {
  return paramValue(uri, 'transport')?.toLowerCase();
}

function paramValue(uri: SipUri, name: string): string | undefined {
  for (const p of uri.params) if (p.name.toLowerCase() === name) return p.value;
  return undefined;
}

/** `tls` is the RFC 2543 spelling that still appears; for `sips:` `tcp` means TLS and UDP is impossible. */
function transportOf(param: string, secure: boolean): Transport | undefined {
  if (param === 'tls') return 'tls';
  if (param === 'tcp') return secure ? 'tls' : 'tcp';
  if (param === 'udp') return secure ? undefined : 'udp';
  return undefined;
}

function unbracket(host: string): string {
  return host.charCodeAt(0) === 0x5b ? host.slice(1, -1) : host;
}

function stripDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}
