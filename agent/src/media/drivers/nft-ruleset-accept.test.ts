/**
 * The kernel objects of a pinhole's sides by `accept` (pure): a pinned side (`peer`) adds its
 * `media_pinned`/`media_src` elements, a side that takes nothing (`none`, or whose other side's
 * peer is unknown) has no elements for flows into it, and the base ruleset has the rule that sends
 * a pinned endpoint's other sources to `media_strict`.
 */
import { describe, expect, it } from 'vitest';
import type { PinholeAccept } from '../types.js';
import { baseRuleset, familyOf, type PinholeRecord, pinholeElements, replyTuples } from './nft-ruleset.js';

const record = (
  aAccept: PinholeAccept | undefined,
  bAccept: PinholeAccept | undefined,
  bPeer = { address: '192.168.77.12', port: 31002 },
): PinholeRecord => ({
  id: 's1/0/rtp',
  n: 7,
  family: 4,
  aLocal: { address: '203.0.113.1', port: 32000 },
  aPeer: { address: '203.0.113.10', port: 31004 },
  bLocal: { address: '192.168.77.1', port: 32100 },
  bPeer,
  ...(aAccept === undefined ? {} : { aAccept }),
  ...(bAccept === undefined ? {} : { bAccept }),
});

const text = (r: PinholeRecord) =>
  pinholeElements(r).map((e) => `${e.set} ${e.key}${e.value === undefined ? '' : ` : ${e.value}`}`);

describe('pinhole elements by accept', () => {
  it('any/any (the default) is the classic nine elements, nothing pinned', () => {
    const t = text(record(undefined, undefined));
    expect(t).toHaveLength(9);
    expect(t.some((l) => l.startsWith('media_pinned') || l.startsWith('media_src'))).toBe(false);
    expect(text(record('any', 'any'))).toEqual(t);
  });

  it('a pinned side takes new flows from its SDP peer only', () => {
    const t = text(record('any', 'peer'));
    expect(t).toContain('media_pinned4 7 . 192.168.77.1 . 32100');
    expect(t).toContain('media_src4 7 . 192.168.77.1 . 32100 . 192.168.77.12 . 31002');
    expect(t.filter((l) => l.startsWith('media_pinned'))).toHaveLength(1);
  });

  it('half-open (the offer): flows into the callee side only, towards the caller; nothing into the caller side', () => {
    const t = text(record('none', 'any', { address: '0.0.0.0', port: 0 }));
    expect(t).toEqual([
      'media_pin 7',
      'media_id4 192.168.77.1 . 32100 : 7',
      'media_fwd4 7 . 192.168.77.1 . 32100',
      'media_dnat4 192.168.77.1 . 32100 : 203.0.113.10 . 31004',
      'media_snat4 7 . 203.0.113.10 . 31004 : 203.0.113.1 . 32000',
    ]);
    // No conntrack tuple names the unknown peer.
    expect(replyTuples(record('none', 'any', { address: '0.0.0.0', port: 0 }))).toEqual([
      [4, '203.0.113.10', 31004, '203.0.113.1', 32000, 1],
    ]);
  });

  it('refuses an accept value it does not know, naming the pinhole and the value', () => {
    const r = record(undefined, undefined);
    const spec = {
      id: r.id,
      a: { local: r.aLocal, peer: r.aPeer },
      b: { local: r.bLocal, peer: r.bPeer, accept: 'some' as PinholeAccept },
    };
    expect(() => familyOf(spec)).toThrow('pinhole s1/0/rtp: bad accept "some" (any, peer or none)');
  });

  it('the base ruleset sends a pinned endpoint’s other sources to media_strict', () => {
    const rules = baseRuleset({ portMin: 32000, portMax: 32999, maxPinholes: 16, priority: -160 });
    expect(rules).toContain(
      'ct mark . ip daddr . udp dport @media_pinned4 ct mark . ip daddr . udp dport . ip saddr . udp sport != @media_src4 jump media_strict',
    );
    expect(rules).toContain(
      'add set inet sipwall media_src6 { type mark . ipv6_addr . inet_service . ipv6_addr . inet_service;',
    );
  });
});
