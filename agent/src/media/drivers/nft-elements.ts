/**
 * The kernel driver's set elements as nf_tables netlink bytes (pure: no I/O), for the addon's
 * `setElements` fast path, which sends `NFT_MSG_NEWSETELEM`/`NFT_MSG_DELSETELEM` without
 * libnftables. The bytes must be exactly what `nft add element` sends for the same text, since the
 * kernel compares keys as bytes (a text-added element and a fast-path delete must meet):
 *
 * | nft type       | bytes                                          |
 * |----------------|------------------------------------------------|
 * | `mark`         | 4, u32 in host byte order (nft's integer type) |
 * | `ipv4_addr`    | 4, network order                               |
 * | `ipv6_addr`    | 16, network order                              |
 * | `inet_service` | 2, network order                               |
 *
 * A concatenation (`a . b . c`) is its fields in order, each padded with zeros to a multiple of 4
 * bytes (one nft register, `NFT_REG32_SIZE`): `mark . ipv4_addr . inet_service` is 4 + 4 + 4 = 12
 * bytes. A map's data is encoded the same way. The types per set follow `baseRuleset` in
 * `nft-ruleset.ts` (a unit test reads them back from its text).
 */
import { endianness } from 'node:os';
import type { SetElementOp } from '@sipwall/nftables-napi';
import { canonicalAddress, type Element, SET } from './nft-ruleset.js';

export type FieldType = 'mark' | 'ipv4_addr' | 'ipv6_addr' | 'inet_service';

/** The key (and for a map, data) types of a set, fields of a concatenation in order. */
export interface SetType {
  readonly key: readonly FieldType[];
  readonly data?: readonly FieldType[];
}

const ADDR = { 4: 'ipv4_addr', 6: 'ipv6_addr' } as const;

/** The types of every set and map of `baseRuleset`, by name. */
export const SET_TYPES: ReadonlyMap<string, SetType> = (() => {
  const m = new Map<string, SetType>([
    [SET.pin, { key: ['mark'] }],
    [SET.busy, { key: ['mark'] }],
  ]);
  for (const f of [4, 6] as const) {
    const ep: FieldType[] = [ADDR[f], 'inet_service'];
    m.set(SET.id(f), { key: ep, data: ['mark'] });
    m.set(SET.fwd(f), { key: ['mark', ...ep] });
    m.set(SET.user(f), { key: ep });
    m.set(SET.dnat(f), { key: ep, data: ep });
    m.set(SET.snat(f), { key: ['mark', ...ep], data: ep });
    m.set(SET.pinned(f), { key: ['mark', ...ep] });
    m.set(SET.src(f), { key: ['mark', ...ep, ...ep] });
  }
  return m;
})();

const LITTLE_ENDIAN = endianness() === 'LE';

const SIZE: Readonly<Record<FieldType, number>> = { mark: 4, ipv4_addr: 4, ipv6_addr: 16, inet_service: 2 };

/**
 * Writes the field `text[start, end)` at `off` of `b`, in place and without slicing the text:
 * this runs for every field of every element of every batch (~40 per call's open and close).
 */
function writeField(b: Buffer, off: number, type: FieldType, text: string, start: number, end: number): void {
  switch (type) {
    case 'mark': {
      const n = integer(text, start, end, 0xffff_ffff);
      if (LITTLE_ENDIAN) b.writeUInt32LE(n, off);
      else b.writeUInt32BE(n, off);
      return;
    }
    case 'inet_service':
      b.writeUInt16BE(integer(text, start, end, 0xffff), off);
      return;
    case 'ipv4_addr': {
      let from = start;
      for (let i = 0; i < 4; i++) {
        const dot = i < 3 ? text.indexOf('.', from) : end;
        if (dot < 0 || dot > end) throw new Error(`not an IPv4 address: ${text.slice(start, end)}`);
        b[off + i] = integer(text, from, dot, 255);
        from = dot + 1;
      }
      return;
    }
    case 'ipv6_addr':
      ipv6(text.slice(start, end)).copy(b, off);
      return;
  }
}

/** The decimal integer `text[start, end)`, 0..max (digits only). */
function integer(text: string, start: number, end: number, max: number): number {
  const len = end - start;
  let ok = len > 0 && len <= 10;
  let n = 0;
  for (let i = start; ok && i < end; i++) {
    const d = text.charCodeAt(i) - 48;
    ok = d >= 0 && d <= 9;
    n = n * 10 + d;
  }
  if (!ok || n > max) throw new Error(`not an integer 0-${max}: ${text.slice(start, end)}`);
  return n;
}

function ipv6(text: string): Buffer {
  // The canonical form (URL serialisation) is hex groups with at most one `::`, no dotted quad.
  let canon: string;
  try {
    canon = canonicalAddress(text);
  } catch {
    throw new Error(`not an IPv6 address: ${text}`);
  }
  if (!canon.includes(':')) throw new Error(`not an IPv6 address: ${text}`);
  const [head, tail] = canon.split('::') as [string, string | undefined];
  const groups = (s: string | undefined) => (s === undefined || s === '' ? [] : s.split(':'));
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (all.length !== 8 || all.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) {
    throw new Error(`not an IPv6 address: ${text}`);
  }
  const b = Buffer.alloc(16);
  for (const [i, g] of all.entries()) b.writeUInt16BE(Number.parseInt(g, 16), 2 * i);
  return b;
}

/**
 * The bytes of a key or value in nft text (`1234 . 192.0.2.1 . 30000`): one field as it is, a
 * concatenation with each field padded to 4 bytes.
 */
export function encodeValue(types: readonly FieldType[], text: string): Buffer {
  const concat = types.length > 1;
  let len = 0;
  for (const t of types) len += concat ? (SIZE[t] + 3) & ~3 : SIZE[t];
  // A zeroed view into Node's shared buffer pool, not an ArrayBuffer of its own per key: the
  // per-call garbage of these small keys was what made the young generation fill (and the
  // scavenges that stretch a pinhole batch's tail) several times as often.
  const b = Buffer.allocUnsafe(len).fill(0);
  let off = 0;
  let start = 0;
  for (let i = 0; i < types.length; i++) {
    const t = types[i]!;
    const end = i + 1 < types.length ? text.indexOf(' . ', start) : text.length;
    if (end < 0 || (i + 1 === types.length && text.includes(' . ', start))) {
      throw new Error(`${JSON.stringify(text)} is not ${types.join(' . ')}`);
    }
    writeField(b, off, t, text, start, end);
    start = end + 3;
    off += concat ? (SIZE[t] + 3) & ~3 : SIZE[t];
  }
  return b;
}

/** The fast-path op that adds (refreshes) an element, as `add element` with this timeout does. */
export function addOp(e: Element, timeoutSec?: number): SetElementOp {
  const t = typeOf(e.set);
  const hasData = t.data !== undefined;
  if (hasData !== (e.value !== undefined)) {
    throw new Error(`${e.set}: ${hasData ? 'a map element needs a value' : 'a set element has no value'}`);
  }
  // Built field by field, not with conditional spreads: each spread is one more object per element.
  const op: { -readonly [K in keyof SetElementOp]: SetElementOp[K] } = {
    del: false,
    set: e.set,
    key: encodeValue(t.key, e.key),
  };
  if (t.data !== undefined && e.value !== undefined) op.data = encodeValue(t.data, e.value);
  if (timeoutSec !== undefined) op.timeoutMs = Math.max(1, Math.ceil(timeoutSec)) * 1000;
  if (e.comment !== undefined) op.comment = e.comment;
  return op;
}

/** The fast-path op that deletes an element (by its key). */
export function deleteOp(e: Element): SetElementOp {
  return { del: true, set: e.set, key: encodeValue(typeOf(e.set).key, e.key) };
}

function typeOf(set: string): SetType {
  const t = SET_TYPES.get(set);
  if (t === undefined) throw new Error(`unknown set ${set}`);
  return t;
}
