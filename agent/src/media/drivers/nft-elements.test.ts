import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import { addOp, deleteOp, encodeValue, type FieldType, SET_TYPES } from './nft-elements.js';
import { baseRuleset, SET } from './nft-ruleset.js';

/**
 * The byte layout of keys and data for the addon's netlink fast path. That it is exactly what
 * `nft add element` sends is checked against the kernel in
 * agent/test/media/nftables-fastpath.test.ts (network namespace, root).
 */
const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('hex');
const markHex = (n: number) => {
  const b = Buffer.alloc(4);
  if (endianness() === 'LE') b.writeUInt32LE(n);
  else b.writeUInt32BE(n);
  return b.toString('hex');
};

describe('nf_tables element encoding', () => {
  it('encodes single fields as they are: mark in host order, addresses and ports in network order', () => {
    expect(hex(encodeValue(['mark'], '258'))).toBe(markHex(258));
    expect(hex(encodeValue(['mark'], '4294967295'))).toBe('ffffffff');
    expect(hex(encodeValue(['ipv4_addr'], '192.0.2.1'))).toBe('c0000201');
    expect(hex(encodeValue(['inet_service'], '30000'))).toBe('7530');
    expect(hex(encodeValue(['ipv6_addr'], '2001:db8::1'))).toBe('20010db8000000000000000000000001');
    expect(hex(encodeValue(['ipv6_addr'], '::'))).toBe('0'.repeat(32));
    expect(hex(encodeValue(['ipv6_addr'], 'fd00::'))).toBe(`fd00${'0'.repeat(28)}`);
    expect(hex(encodeValue(['ipv6_addr'], '2001:DB8:0:0:1::10'))).toBe('20010db8000000000001000000000010');
    expect(hex(encodeValue(['ipv6_addr'], '::ffff:192.0.2.1'))).toBe('00000000000000000000ffffc0000201');
  });

  it('pads each field of a concatenation to 4 bytes (one nft register)', () => {
    expect(hex(encodeValue(['mark', 'ipv4_addr', 'inet_service'], '1 . 192.0.2.1 . 30000'))).toBe(
      `${markHex(1)}c0000201` + '75300000',
    );
    expect(hex(encodeValue(['ipv4_addr', 'inet_service'], '203.0.113.10 . 7000'))).toBe('cb00710a1b580000');
    const src6 = encodeValue(
      ['mark', 'ipv6_addr', 'inet_service', 'ipv6_addr', 'inet_service'],
      '7 . 2001:db8::1 . 30000 . 2001:db8::10 . 7000',
    );
    expect(src6).toHaveLength(4 + 16 + 4 + 16 + 4);
    expect(hex(src6.subarray(20, 24))).toBe('75300000');
    expect(hex(src6.subarray(40))).toBe('1b580000');
  });

  it('zeroes the padding even where the shared buffer pool held other bytes before', () => {
    // Keys are views into Node's pool (Buffer.allocUnsafe): dirty the pool, then encode.
    for (let i = 0; i < 64; i++) Buffer.allocUnsafe(64).fill(0xab);
    for (let i = 0; i < 200; i++) {
      expect(hex(encodeValue(['ipv4_addr', 'inet_service'], '203.0.113.10 . 7000'))).toBe('cb00710a1b580000');
      Buffer.allocUnsafe(12).fill(0xff);
    }
  });

  it('refuses text that does not fit the type', () => {
    const ep: FieldType[] = ['ipv4_addr', 'inet_service'];
    expect(() => encodeValue(ep, '192.0.2.1')).toThrow(/is not ipv4_addr . inet_service/);
    expect(() => encodeValue(ep, '192.0.2.1 . 65536')).toThrow(/integer/);
    expect(() => encodeValue(ep, '192.0.2.256 . 1')).toThrow(/integer/);
    expect(() => encodeValue(ep, '192.0.2 . 1')).toThrow(/IPv4|integer/);
    expect(() => encodeValue(ep, '192.0.2.1.5 . 1')).toThrow(/integer/);
    expect(() => encodeValue(ep, '192..2.1 . 1')).toThrow(/integer/);
    expect(() => encodeValue(ep, '2001:db8::1 . 1')).toThrow(/IPv4/);
    expect(() => encodeValue(['ipv6_addr'], '192.0.2.1')).toThrow(/IPv6/);
    expect(() => encodeValue(['ipv6_addr'], 'zz::1')).toThrow(/IPv6/);
    expect(() => encodeValue(['mark'], '-1')).toThrow(/integer/);
    expect(() => encodeValue(['mark'], '4294967296')).toThrow(/integer/);
  });

  it('knows the type of every set and map of the base ruleset, as the ruleset declares it', () => {
    const text = baseRuleset({ portMin: 1, portMax: 2, maxPinholes: 10, priority: -160 });
    const declared = new Map<string, string>();
    for (const m of text.matchAll(/^add (?:set|map) inet sipwall (\S+) \{ type ([^;]+);/gm)) {
      declared.set(m[1]!, m[2]!);
    }
    expect(declared.size).toBeGreaterThan(10);
    const written = new Map(
      [...SET_TYPES].map(([name, t]) => [
        name,
        t.data === undefined ? t.key.join(' . ') : `${t.key.join(' . ')} : ${t.data.join(' . ')}`,
      ]),
    );
    expect(written).toEqual(declared);
  });

  it('makes add ops (timeout in ms, rounded up to whole seconds as the text is) and delete ops', () => {
    const add = addOp({ set: SET.dnat(4), key: '192.0.2.1 . 30000', value: '198.51.100.7 . 7000' }, 59.2);
    expect(add).toEqual({
      del: false,
      set: 'media_dnat4',
      key: Buffer.from('c000020175300000', 'hex'),
      data: Buffer.from('c63364071b580000', 'hex'),
      timeoutMs: 60_000,
    });
    expect(addOp({ set: SET.pin, key: '9', comment: 'call-1' }, 60)).toMatchObject({
      comment: 'call-1',
      timeoutMs: 60_000,
    });
    expect(addOp({ set: SET.busy, key: '9' })).toEqual({
      del: false,
      set: 'media_busy',
      key: Buffer.from(markHex(9), 'hex'),
    });
    expect(deleteOp({ set: SET.id(6), key: '2001:db8::1 . 5', value: '9' })).toEqual({
      del: true,
      set: 'media_id6',
      key: Buffer.from('20010db8000000000000000000000001' + '00050000', 'hex'),
    });
    expect(() => addOp({ set: SET.dnat(4), key: '192.0.2.1 . 30000' })).toThrow(/needs a value/);
    expect(() => addOp({ set: SET.pin, key: '1', value: '2' })).toThrow(/has no value/);
    expect(() => deleteOp({ set: 'media_nope', key: '1' })).toThrow(/unknown set/);
  });
});
