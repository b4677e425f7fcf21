/**
 * The kernel media driver's nftables objects (pure: text builders and parsers, no I/O). See
 * `../README.md`, section "Kernel driver", for the packet path these objects make.
 *
 * Everything lives in the agent's table `inet sipwall` and is named `media_*`: the table is added
 * (a no-op when it exists) and never deleted; chain `sip_redirect` (transparent mode) is never
 * named here.
 *
 * Per pinhole (one flow, id, number N ≥ 1, family 4 or 6, sides a and b with local endpoints A, B
 * and peers AP, BP):
 *
 * | object                | elements                          | role                                        |
 * |-----------------------|-----------------------------------|---------------------------------------------|
 * | `media_pin`           | N (comment: the id)               | registry for reconcile, strict-source drops |
 * | `media_id{4,6}`       | A → N, B → N                      | a new flow to A or B belongs to N           |
 * | `media_fwd{4,6}`      | N . A, N . B (counters)           | live check of every packet, counters a→b, b→a |
 * | `media_dnat{4,6}`     | A → BP, B → AP                    | DNAT of a new flow                          |
 * | `media_snat{4,6}`     | N . BP → B, N . AP → A            | SNAT of a new flow                          |
 * | `media_busy`          | N, added from the packet path     | `ct count`: one flow per pinhole            |
 * | `media_pinned{4,6}`   | N . B (a side with `accept: peer`)  | new flows to B only from …                  |
 * | `media_src{4,6}`      | N . B . BP                        | … the peer its SDP named                    |
 *
 * A side with `accept: none` (or whose other side's peer is not known yet: `0.0.0.0`/`::`/port 0)
 * gets no flow into it: its `media_id`, `media_fwd`, `media_dnat` and the matching `media_snat`
 * elements are left out, so packets to it are dropped, new flows and replies alike (a half-open
 * pinhole: early media at the offer).
 *
 * Every element carries the pinhole's timeout (the safety net), refreshed by adding it again.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Endpoint, PinholeAccept, PinholeSpec } from '../types.js';

export const NFT_MEDIA_TABLE = 'inet sipwall';
/** The prefix of every chain, set and map the driver owns. */
export const MEDIA_PREFIX = 'media_';

export type Family = 4 | 6;
export const FAMILIES: readonly Family[] = [4, 6];

export const SET = {
  pin: 'media_pin',
  busy: 'media_busy',
  id: (f: Family) => `media_id${f}`,
  fwd: (f: Family) => `media_fwd${f}`,
  dnat: (f: Family) => `media_dnat${f}`,
  snat: (f: Family) => `media_snat${f}`,
  /** Local endpoints (with their pinhole number) that take new flows from their SDP peer only. */
  pinned: (f: Family) => `media_pinned${f}`,
  /** The one source each pinned local endpoint takes. */
  src: (f: Family) => `media_src${f}`,
  /** Local endpoints served in user space (RTCP through the relay while RTP stays in the kernel). */
  user: (f: Family) => `media_user${f}`,
} as const;

export const CHAIN = {
  pre: 'media_pre',
  in: (f: Family) => `media_in${f}`,
  new: (f: Family) => `media_new${f}`,
  strict: 'media_strict',
  dnat: 'media_dnat',
  snat: 'media_snat',
} as const;

export interface RulesetOptions {
  readonly portMin: number;
  readonly portMax: number;
  /** The agent's media addresses per family; `undefined`: every local address (`fib daddr type local`). */
  readonly addresses4?: readonly string[] | undefined;
  readonly addresses6?: readonly string[] | undefined;
  /** The most pinholes at once (set sizes). */
  readonly maxPinholes: number;
  /** Priority of the filter chain at prerouting: after conntrack (-200), before DNAT (-100). */
  readonly priority: number;
}

const ip = (f: Family) => (f === 4 ? 'ip' : 'ip6');
const addrType = (f: Family) => (f === 4 ? 'ipv4_addr' : 'ipv6_addr');

/**
 * One transaction that creates what is missing and rewrites the driver's chains (their rules
 * follow the options), leaving existing set and map elements alone (pinholes survive a restart
 * until reconcile decides).
 */
export function baseRuleset(o: RulesetOptions): string {
  const t = NFT_MEDIA_TABLE;
  const size = Math.max(1, Math.trunc(o.maxPinholes));
  const lines = [
    `add table ${t}`,
    `add set ${t} ${SET.pin} { type mark; flags timeout; counter; size ${size}; }`,
    `add set ${t} ${SET.busy} { type mark; flags dynamic; size ${size}; }`,
  ];
  for (const f of FAMILIES) {
    const at = addrType(f);
    lines.push(
      `add map ${t} ${SET.id(f)} { type ${at} . inet_service : mark; flags timeout; size ${2 * size}; }`,
      `add set ${t} ${SET.fwd(f)} { type mark . ${at} . inet_service; flags timeout; counter; size ${2 * size}; }`,
      `add set ${t} ${SET.user(f)} { type ${at} . inet_service; flags timeout; size ${2 * size}; }`,
      `add map ${t} ${SET.dnat(f)} { type ${at} . inet_service : ${at} . inet_service; flags timeout; size ${2 * size}; }`,
      `add map ${t} ${SET.snat(f)} { type mark . ${at} . inet_service : ${at} . inet_service; flags timeout; size ${2 * size}; }`,
      `add set ${t} ${SET.pinned(f)} { type mark . ${at} . inet_service; flags timeout; size ${2 * size}; }`,
      `add set ${t} ${SET.src(f)} { type mark . ${at} . inet_service . ${at} . inet_service; flags timeout; size ${2 * size}; }`,
    );
  }
  const chains: Array<[string, string]> = [
    [CHAIN.pre, `{ type filter hook prerouting priority ${Math.trunc(o.priority)}; policy accept; }`],
    [CHAIN.dnat, '{ type nat hook prerouting priority dstnat; policy accept; }'],
    [CHAIN.snat, '{ type nat hook postrouting priority srcnat; policy accept; }'],
    [CHAIN.strict, ''],
    ...FAMILIES.flatMap(
      (f): Array<[string, string]> => [
        [CHAIN.in(f), ''],
        [CHAIN.new(f), ''],
      ],
    ),
  ];
  for (const [name, spec] of chains) {
    lines.push(`add chain ${t} ${name}${spec ? ` ${spec}` : ''}`, `flush chain ${t} ${name}`);
  }
  const rule = (chain: string, body: string) => lines.push(`add rule ${t} ${chain} ${body}`);
  const min = Math.trunc(o.portMin);
  const max = Math.trunc(o.portMax);
  for (const f of FAMILIES) {
    const addrs = f === 4 ? o.addresses4 : o.addresses6;
    // No address of this family given (but some of the other): the family has no media.
    if (addrs !== undefined && addrs.length === 0) continue;
    const dst =
      addrs === undefined
        ? 'fib daddr type local'
        : `${ip(f)} daddr { ${addrs.map(checkedAddress).join(', ')} }`;
    rule(
      CHAIN.pre,
      `meta nfproto ${f === 4 ? 'ipv4' : 'ipv6'} udp dport ${min}-${max} ${dst} jump ${CHAIN.in(f)}`,
    );
    const key = `${ip(f)} daddr . udp dport`;
    // A port the agent serves in user space (an RTCP relay socket): not the kernel's business.
    rule(CHAIN.in(f), `${key} @${SET.user(f)} accept`);
    // ct mark is 0 on a flow's first packet (and on flows that are not the driver's), N on the rest.
    rule(CHAIN.in(f), `ct mark 0 ct direction original jump ${CHAIN.new(f)}`);
    // A reply to a local process's own flow whose port falls in the range: not media, leave it.
    rule(CHAIN.in(f), 'ct mark 0 ct direction reply accept');
    // A packet of an existing flow: its pinhole must still be live (counted per local endpoint).
    rule(CHAIN.in(f), `ct mark . ${key} @${SET.fwd(f)} accept`);
    rule(CHAIN.in(f), 'counter drop comment "flow of a closed pinhole"');
    rule(CHAIN.new(f), `ct mark set ${key} map @${SET.id(f)}`);
    rule(CHAIN.new(f), 'ct mark 0 counter drop comment "media port without a pinhole"');
    // A pinned side (`accept: peer`): a new flow from any source but its SDP peer is a stranger's.
    rule(
      CHAIN.new(f),
      `ct mark . ${key} @${SET.pinned(f)} ct mark . ${key} . ${ip(f)} saddr . udp sport != @${SET.src(f)} jump ${CHAIN.strict}`,
    );
    // Strict source: a second live flow for the pinhole (another source) is dropped and counted.
    rule(CHAIN.new(f), `add @${SET.busy} { ct mark ct count over 1 } jump ${CHAIN.strict}`);
    rule(CHAIN.new(f), `ct mark . ${key} @${SET.fwd(f)} accept`);
    rule(CHAIN.new(f), 'counter drop');
    rule(
      CHAIN.dnat,
      `meta nfproto ${f === 4 ? 'ipv4' : 'ipv6'} ct mark != 0 dnat ${ip(f)} to ${key} map @${SET.dnat(f)}`,
    );
    rule(
      CHAIN.snat,
      `meta nfproto ${f === 4 ? 'ipv4' : 'ipv6'} ct mark != 0 snat ${ip(f)} to ct mark . ${key} map @${SET.snat(f)}`,
    );
  }
  rule(CHAIN.strict, `ct mark @${SET.pin} drop`);
  rule(CHAIN.strict, 'drop');
  return `${lines.join('\n')}\n`;
}

function checkedAddress(a: string): string {
  if (isIP(a) === 0) throw new Error(`not an IP address: ${JSON.stringify(a)}`);
  return canonicalAddress(a);
}

/** An address as nft prints it (IPv6 compressed, lower case), so listed keys compare as strings. */
export function canonicalAddress(a: string): string {
  if (isIP(a) === 6) return new URL(`http://[${a}]/`).hostname.slice(1, -1);
  return a;
}

/** The pinhole's family; throws when the four endpoints do not share one. */
export function familyOf(spec: Pick<PinholeSpec, 'id' | 'a' | 'b'>): Family {
  const fams = [spec.a.local, spec.a.peer, spec.b.local, spec.b.peer].map((e) => isIP(e.address));
  const f = fams[0];
  if ((f !== 4 && f !== 6) || fams.some((x) => x !== f)) {
    throw new Error(
      `pinhole ${spec.id}: the kernel driver needs four addresses of one family (got ${[
        spec.a.local,
        spec.a.peer,
        spec.b.local,
        spec.b.peer,
      ]
        .map((e) => e.address)
        .join(', ')})`,
    );
  }
  for (const side of [spec.a, spec.b]) {
    const accept = side.accept;
    if (accept !== undefined && accept !== 'any' && accept !== 'peer' && accept !== 'none') {
      throw new Error(`pinhole ${spec.id}: bad accept ${JSON.stringify(accept)} (any, peer or none)`);
    }
  }
  for (const e of [spec.a.local, spec.b.local]) {
    if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65535) {
      throw new Error(`pinhole ${spec.id}: bad local port ${e.port}`);
    }
  }
  for (const e of [spec.a.peer, spec.b.peer]) {
    if (!Number.isInteger(e.port) || e.port < 0 || e.port > 65535) {
      throw new Error(`pinhole ${spec.id}: bad peer port ${e.port}`);
    }
  }
  return f;
}

const PLAIN_ID = /^[A-Za-z0-9_.:@/+=-]{1,100}$/;

/**
 * The element comment that names a pinhole in the kernel: the id itself when short and plain,
 * else `#` + a SHA-256 prefix of it (reconcile encodes its live ids the same way).
 */
export function idComment(id: string): string {
  if (PLAIN_ID.test(id)) return id;
  return `#${createHash('sha256').update(id).digest('base64url').slice(0, 32)}`;
}

/** What the driver holds for one open pinhole: its number and its endpoints. */
export interface PinholeRecord {
  readonly id: string;
  readonly n: number;
  readonly family: Family;
  readonly aLocal: Endpoint;
  readonly aPeer: Endpoint;
  readonly bLocal: Endpoint;
  readonly bPeer: Endpoint;
  /** Who may send to each side's local endpoint (`PinholeSide.accept`; absent = `any`). */
  readonly aAccept?: PinholeAccept;
  readonly bAccept?: PinholeAccept;
}

/** `0.0.0.0`, `::` or port 0: the party's address is not known (nothing is sent that way). */
export function isUnspecified(e: Endpoint): boolean {
  return e.port === 0 || e.address === '0.0.0.0' || e.address === '::';
}

/** One set or map element in nft text syntax. */
export interface Element {
  readonly set: string;
  readonly key: string;
  readonly value?: string;
  readonly comment?: string;
}

function ep(e: Endpoint): string {
  return `${canonicalAddress(e.address)} . ${Math.trunc(e.port)}`;
}

/**
 * Every element of a pinhole except `media_busy` (the packet path adds that one). A flow into a
 * side exists only when that side accepts something and the other side's peer is known.
 */
export function pinholeElements(r: PinholeRecord): Element[] {
  const f = r.family;
  const n = String(r.n);
  const A = ep(r.aLocal);
  const B = ep(r.bLocal);
  const AP = ep(r.aPeer);
  const BP = ep(r.bPeer);
  const out: Element[] = [{ set: SET.pin, key: n, comment: idComment(r.id) }];
  const intoA = (r.aAccept ?? 'any') !== 'none' && !isUnspecified(r.bPeer);
  const intoB = (r.bAccept ?? 'any') !== 'none' && !isUnspecified(r.aPeer);
  if (intoA) out.push({ set: SET.id(f), key: A, value: n });
  if (intoB) out.push({ set: SET.id(f), key: B, value: n });
  // The comments say which side an element is (reconcile reads them back after a restart).
  if (intoA) out.push({ set: SET.fwd(f), key: `${n} . ${A}`, comment: 'a' });
  if (intoB) out.push({ set: SET.fwd(f), key: `${n} . ${B}`, comment: 'b' });
  if (intoA) out.push({ set: SET.dnat(f), key: A, value: BP });
  if (intoB) out.push({ set: SET.dnat(f), key: B, value: AP });
  if (intoA) out.push({ set: SET.snat(f), key: `${n} . ${BP}`, value: B });
  // Both peers the same endpoint (a degenerate offer): one SNAT element, the a side's wins.
  if (intoB && (AP !== BP || !intoA)) out.push({ set: SET.snat(f), key: `${n} . ${AP}`, value: A });
  if (intoA && r.aAccept === 'peer' && !isUnspecified(r.aPeer)) {
    out.push({ set: SET.pinned(f), key: `${n} . ${A}` }, { set: SET.src(f), key: `${n} . ${A} . ${AP}` });
  }
  if (intoB && r.bAccept === 'peer' && !isUnspecified(r.bPeer)) {
    out.push({ set: SET.pinned(f), key: `${n} . ${B}` }, { set: SET.src(f), key: `${n} . ${B} . ${BP}` });
  }
  return out;
}

export function elementIdentity(e: Element): string {
  return `${e.set}|${e.key}|${e.value ?? ''}`;
}

/** Elements grouped by their set, in first-seen order: one `add`/`delete element` command per set. */
function bySet(elements: readonly Element[]): Element[][] {
  const groups = new Map<string, Element[]>();
  for (const e of elements) {
    const g = groups.get(e.set);
    if (g === undefined) groups.set(e.set, [e]);
    else g.push(e);
  }
  return [...groups.values()];
}

const valueText = (e: Element) => (e.value === undefined ? '' : ` : ${e.value}`);

/** Adds (or refreshes: a new timeout, counters kept) elements. */
export function addLines(elements: readonly Element[], timeoutSec: number): string[] {
  const t = Math.max(1, Math.ceil(timeoutSec));
  return bySet(elements).map((g) => {
    const items = g.map((e) => {
      const comment = e.comment === undefined ? '' : ` comment ${quote(e.comment)}`;
      return `${e.key} timeout ${t}s${comment}${valueText(e)}`;
    });
    return `add element ${NFT_MEDIA_TABLE} ${g[0]!.set} { ${items.join(', ')} }`;
  });
}

/** Deletes elements that exist (the batch fails if one does not: then use {@link removeLines}). */
export function deleteLines(elements: readonly Element[]): string[] {
  return bySet(elements).map(
    (g) => `delete element ${NFT_MEDIA_TABLE} ${g[0]!.set} { ${g.map((e) => e.key).join(', ')} }`,
  );
}

/**
 * Deletes elements whether or not they still exist (the safety-net timeout may have removed them):
 * they are added first, then deleted, in the same transaction, so the delete cannot fail.
 */
export function removeLines(elements: readonly Element[]): string[] {
  const lines: string[] = [];
  for (const g of bySet(elements)) {
    lines.push(
      `add element ${NFT_MEDIA_TABLE} ${g[0]!.set} { ${g.map((e) => `${e.key}${valueText(e)}`).join(', ')} }`,
    );
  }
  return [...lines, ...deleteLines(elements)];
}

function quote(s: string): string {
  // idComment() output is plain; keep it that way.
  if (!/^[#A-Za-z0-9_.:@/+=-]+$/.test(s)) throw new Error(`unsafe comment ${JSON.stringify(s)}`);
  return `"${s}"`;
}

/**
 * The conntrack reply tuples of a pinhole's possible flows (UDP): a flow started by a's peer has the
 * reply tuple BP → B, one started by b's peer AP → A. Deleting both (one is missing) ends the flow.
 */
export function replyTuples(r: PinholeRecord): Array<readonly [Family, string, number, string, number, 1]> {
  const out: Array<readonly [Family, string, number, string, number, 1]> = [];
  if (!isUnspecified(r.bPeer))
    out.push([r.family, r.bPeer.address, r.bPeer.port, r.bLocal.address, r.bLocal.port, 1]);
  if (!isUnspecified(r.aPeer))
    out.push([r.family, r.aPeer.address, r.aPeer.port, r.aLocal.address, r.aLocal.port, 1]);
  return out;
}

// ---- reading listings ------------------------------------------------------------------------

/** One listed element: its key (and value) as nft JSON values, counter and comment. */
export interface ListedElement {
  readonly key: unknown;
  readonly value?: unknown;
  readonly counter?: { readonly packets: number; readonly bytes: number };
  readonly comment?: string;
}

/** The elements of one `list set`/`list map` JSON output. */
export function parseListing(json: string): ListedElement[] {
  const doc = JSON.parse(json) as { nftables?: Array<Record<string, unknown>> };
  const out: ListedElement[] = [];
  for (const item of doc.nftables ?? []) {
    const obj = (item['set'] ?? item['map']) as { elem?: unknown[] } | undefined;
    if (obj?.elem === undefined) continue;
    for (const raw of obj.elem) {
      let keyPart: unknown = raw;
      let value: unknown;
      if (Array.isArray(raw)) {
        keyPart = raw[0];
        value = raw[1];
      }
      const wrapped =
        typeof keyPart === 'object' && keyPart !== null && 'elem' in keyPart
          ? ((keyPart as { elem: Record<string, unknown> }).elem as Record<string, unknown>)
          : undefined;
      const key = wrapped !== undefined ? wrapped['val'] : keyPart;
      const counter = wrapped?.['counter'] as { packets: number; bytes: number } | undefined;
      const comment = wrapped?.['comment'] as string | undefined;
      out.push({
        key,
        ...(value !== undefined ? { value } : {}),
        ...(counter !== undefined ? { counter } : {}),
        ...(comment !== undefined ? { comment } : {}),
      });
    }
  }
  return out;
}

/** A listed concatenation (`{"concat": [...]}`) as its parts, a single value as one part. */
export function parts(v: unknown): Array<string | number> {
  if (typeof v === 'object' && v !== null && 'concat' in v) {
    return (v as { concat: Array<string | number> }).concat.map((x) =>
      typeof x === 'object' ? String(x) : x,
    );
  }
  return [v as string | number];
}

/** The nft text form of a listed key or value (addresses as listed, numbers as numbers). */
export function textOf(v: unknown): string {
  return parts(v)
    .map((p) => String(p))
    .join(' . ');
}

/** Elements of the user-space set for local endpoints (grouped per family by the caller's batch). */
export function userSpaceElements(endpoints: readonly Endpoint[]): Element[] {
  return endpoints.map((e) => ({ set: SET.user(isIP(e.address) === 6 ? 6 : 4), key: ep(e) }));
}
