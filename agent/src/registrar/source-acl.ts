import { err, ok, type Result } from '@sipwall/shared';

/** An IP address as four 32-bit words (IPv4 uses only the last word). */
export interface ParsedIp {
  readonly family: 4 | 6;
  readonly words: readonly [number, number, number, number];
}

/** A network compiled for matching: address words already masked. */
interface Network {
  readonly family: 4 | 6;
  readonly words: readonly [number, number, number, number];
  readonly masks: readonly [number, number, number, number];
}

/** A compiled list of CIDR networks; build once per config, match per request. */
export interface CidrSet {
  readonly size: number;
  readonly networks: readonly Network[];
}

export const EMPTY_CIDR_SET: CidrSet = { size: 0, networks: [] };

function parseIpv4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p.startsWith('0'))) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n >>> 0;
}

/** Parses 1–8 hextets with at most one `::` and an optional trailing dotted IPv4. */
function parseIpv6(s: string): [number, number, number, number] | undefined {
  if (s.length > 45) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const toGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIpv4(piece);
        if (v4 === undefined) return undefined;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
        out.push(Number.parseInt(piece, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = toGroups(halves[0]!);
  const tail = halves.length === 2 ? toGroups(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const g = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return [
    ((g[0]! << 16) | g[1]!) >>> 0,
    ((g[2]! << 16) | g[3]!) >>> 0,
    ((g[4]! << 16) | g[5]!) >>> 0,
    ((g[6]! << 16) | g[7]!) >>> 0,
  ];
}

/**
 * Parses an IPv4 or IPv6 address (brackets and a `%zone` suffix tolerated). An IPv4-mapped IPv6
 * address (`::ffff:10.0.0.1`, what dual-stack sockets report) is returned as IPv4, so it matches
 * IPv4 networks.
 */
export function parseIp(address: string): ParsedIp | undefined {
  let s = address.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (!s.includes(':')) {
    const v4 = parseIpv4(s);
    return v4 === undefined ? undefined : { family: 4, words: [0, 0, 0, v4] };
  }
  const w = parseIpv6(s);
  if (w === undefined) return undefined;
  if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) return { family: 4, words: [0, 0, 0, w[3]] };
  return { family: 6, words: w };
}

function masksFor(family: 4 | 6, prefix: number): [number, number, number, number] {
  const bits = family === 4 ? prefix + 96 : prefix;
  const masks: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    const take = Math.max(0, Math.min(32, bits - i * 32));
    masks[i] = take === 0 ? 0 : (0xffffffff << (32 - take)) >>> 0;
  }
  if (family === 4) masks[0] = masks[1] = masks[2] = 0;
  return masks;
}

/** Parses one CIDR (`10.0.0.0/8`, `2001:db8::/32`; a bare address means a host route). */
export function parseCidr(cidr: string): Network | undefined {
  const slash = cidr.indexOf('/');
  const ip = parseIp(slash < 0 ? cidr : cidr.slice(0, slash));
  if (ip === undefined) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(max) : cidr.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return undefined;
  const masks = masksFor(ip.family, Number(prefixText));
  const words = ip.words.map((w, i) => (w & masks[i]!) >>> 0) as unknown as [number, number, number, number];
  return { family: ip.family, words, masks };
}

/** Compiles CIDR strings (already validated by the config schema; a bad one is still reported). */
export function compileCidrs(cidrs: readonly string[]): Result<CidrSet, { code: 'bad-cidr'; cidr: string }> {
  const networks: Network[] = [];
  for (const c of cidrs) {
    const n = parseCidr(c);
    if (n === undefined) return err({ code: 'bad-cidr', cidr: c });
    networks.push(n);
  }
  return ok({ size: networks.length, networks });
}

/** Whether `ip` falls inside any network of the set. */
export function cidrSetContains(set: CidrSet, ip: ParsedIp): boolean {
  for (const n of set.networks) {
    if (n.family !== ip.family) continue;
    if (
      (ip.words[0] & n.masks[0]) >>> 0 === n.words[0] &&
      (ip.words[1] & n.masks[1]) >>> 0 === n.words[1] &&
      (ip.words[2] & n.masks[2]) >>> 0 === n.words[2] &&
      (ip.words[3] & n.masks[3]) >>> 0 === n.words[3]
    ) {
      return true;
    }
  }
  return false;
}

/** The last source parsed: requests come in runs from one address (a phone, a NAT, a load test). */
let lastSource = '';
let lastSourceIp: ParsedIp | undefined;

function parseSourceIp(address: string): ParsedIp | undefined {
  if (address !== lastSource) {
    lastSourceIp = parseIp(address);
    lastSource = address;
  }
  return lastSourceIp;
}

/** Site policy for REGISTER sources (`policies.registerAllowFrom/DenyFrom`), compiled. */
export interface RegisterSourcePolicy {
  readonly allow: CidrSet;
  readonly deny: CidrSet;
}

export type SourceDecision = 'allowed' | 'denied';

/**
 * Who may register from where. Deny wins; a non-empty allow list (site policy, then the user's
 * `allowFrom`) must contain the source; an unparsable source address is denied.
 */
export function checkRegisterSource(
  address: string,
  policy: RegisterSourcePolicy,
  userAllow: CidrSet,
): SourceDecision {
  const ip = parseSourceIp(address);
  if (ip === undefined) return 'denied';
  if (cidrSetContains(policy.deny, ip)) return 'denied';
  if (policy.allow.size > 0 && !cidrSetContains(policy.allow, ip)) return 'denied';
  if (userAllow.size > 0 && !cidrSetContains(userAllow, ip)) return 'denied';
  return 'allowed';
}
