import { BlockList, isIP } from 'node:net';

/**
 * Reverse proxies whose `X-Forwarded-*` headers are believed. Entries: an address (`10.0.0.2`,
 * `::1`), a CIDR block (`10.0.0.0/8`, `fd00::/8`) or `loopback` (127.0.0.0/8 and ::1).
 */
export class TrustedProxies {
  readonly #list = new BlockList();
  readonly #empty: boolean;

  /** @throws {Error} naming the first entry that is not an address, a CIDR block or `loopback` */
  constructor(entries: readonly string[]) {
    for (const raw of entries) {
      const entry = raw.trim();
      if (entry === '') continue;
      const problem = trustedProxyEntryProblem(entry);
      if (problem !== null) throw new Error(problem);
      if (entry === 'loopback') {
        this.#list.addSubnet('127.0.0.0', 8, 'ipv4');
        this.#list.addAddress('::1', 'ipv6');
        continue;
      }
      const [addr, prefix] = entry.split('/') as [string, string | undefined];
      const type = isIP(addr) === 4 ? 'ipv4' : 'ipv6';
      if (prefix === undefined) this.#list.addAddress(addr, type);
      else this.#list.addSubnet(addr, Number(prefix), type);
    }
    this.#empty = entries.every((e) => e.trim() === '');
  }

  /** Whether `address` (a socket peer) is one of the trusted proxies. */
  has(address: string): boolean {
    if (this.#empty) return false;
    const type = isIP(address);
    if (type === 0) return false;
    return this.#list.check(address, type === 4 ? 'ipv4' : 'ipv6');
  }
}

/** Why a `SIPWALL_TRUSTED_PROXIES` entry is invalid, or null. */
export function trustedProxyEntryProblem(entry: string): string | null {
  if (entry === 'loopback') return null;
  const [addr, prefix, ...rest] = entry.split('/');
  const family = isIP(addr ?? '');
  if (rest.length > 0 || family === 0) return `${entry}: not an IP address, CIDR block or "loopback"`;
  if (prefix !== undefined) {
    const max = family === 4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return `${entry}: bad prefix length`;
  }
  return null;
}

/** What the app believes about the client of one request. */
export interface ClientFacts {
  /** Client address: the socket peer, or from `X-Forwarded-For` when the peer is a trusted proxy. */
  ip: string;
  /** Scheme the client used: `https` only through a trusted proxy saying so (this server speaks HTTP). */
  proto: 'http' | 'https';
  /** Host the client asked for (`X-Forwarded-Host` through a trusted proxy, else `Host`). */
  host: string | null;
}

/** `::ffff:192.0.2.1` → `192.0.2.1`, so IPv4 clients on a dual-stack socket look like IPv4. */
export function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

function listHeader(headers: Headers, name: string): string[] {
  const v = headers.get(name);
  if (v === null) return [];
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Resolves the client of a request. `X-Forwarded-*` are read only when the socket peer is a trusted
 * proxy; `X-Forwarded-For` is walked from the right (entries the nearest proxy appended) past other
 * trusted proxies, so a client cannot pick its own address by sending the header itself.
 */
export function resolveClient(
  peer: string | undefined,
  headers: Headers,
  trusted: TrustedProxies,
): ClientFacts {
  const peerIp = normalizeIp(peer ?? 'unknown');
  const host = headers.get('host');
  if (!trusted.has(peerIp)) return { ip: peerIp, proto: 'http', host };
  let ip = peerIp;
  const hops = listHeader(headers, 'x-forwarded-for').map(normalizeIp);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) break;
    ip = hop;
    if (!trusted.has(hop)) break;
  }
  const proto = listHeader(headers, 'x-forwarded-proto').at(-1)?.toLowerCase();
  const fwdHost = listHeader(headers, 'x-forwarded-host').at(-1);
  return { ip, proto: proto === 'https' ? 'https' : 'http', host: fwdHost ?? host };
}
