import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PORT_QUARANTINE_MS,
  PortAllocator,
  type PortAllocatorOptions,
  type RandomBytes,
} from '../../src/media/ports.js';
import { ManualClock } from '../../src/util/clock.js';
import { createRandomPool } from '../../src/util/random-pool.js';

const ADDRESS = '203.0.113.10';

/** Deterministic bytes (xorshift32 from a seed), through the agent's own random pool. */
function seededRandom(seed: number): RandomBytes {
  let x = seed >>> 0 || 1;
  return createRandomPool(256, (buf) => {
    for (let i = 0; i < buf.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      buf[i] = x & 0xff;
    }
  });
}

function allocator(options: Partial<PortAllocatorOptions> = {}, seed = 1) {
  const clock = new ManualClock(1_000_000);
  const ports = new PortAllocator(
    { address: ADDRESS, portMin: 20_000, portMax: 20_009, quarantineMs: 5_000, ...options },
    { clock, random: seededRandom(seed) },
  );
  return { clock, ports };
}

/** Allocates every pair free now (without running into exhaustion). */
function allocateAll(ports: PortAllocator): number[] {
  const rtp: number[] = [];
  for (let n = ports.free; n > 0; n--) {
    const pair = ports.allocate();
    if (!pair.ok) throw new Error('exhausted early');
    rtp.push(pair.value.rtp);
  }
  return rtp;
}

describe('PortAllocator', () => {
  it('hands out even RTP ports with RTCP = RTP + 1, on its address, inside the range', () => {
    const { ports } = allocator({ portMin: 20_001, portMax: 20_010 });
    expect(ports.capacity).toBe(4); // 20002/3 … 20008/9; 20010 has no 20011 in range
    for (let i = 0; i < 4; i++) {
      const pair = ports.allocate();
      expect(pair.ok).toBe(true);
      if (!pair.ok) continue;
      expect(pair.value.address).toBe(ADDRESS);
      expect(pair.value.rtp % 2).toBe(0);
      expect(pair.value.rtcp).toBe(pair.value.rtp + 1);
      expect(pair.value.rtp).toBeGreaterThanOrEqual(20_002);
      expect(pair.value.rtcp).toBeLessThanOrEqual(20_009);
    }
  });

  it('uses every pair of the range once before it is exhausted', () => {
    const { ports } = allocator();
    expect(allocateAll(ports).sort()).toEqual([20_000, 20_002, 20_004, 20_006, 20_008]);
  });

  it('exhausted: a typed failure with counts, first only once per episode', () => {
    const { clock, ports } = allocator({ quarantineMs: 0 });
    const rtp = allocateAll(ports);
    const a = ports.allocate();
    const b = ports.allocate();
    expect(a).toEqual({ ok: false, error: { reason: 'exhausted', inUse: 5, quarantined: 0, first: true } });
    expect(b.ok ? undefined : b.error.first).toBe(false);
    ports.release(rtp[0]!);
    clock.advance(1);
    expect(ports.allocate().ok).toBe(true);
    const c = ports.allocate();
    expect(c.ok ? undefined : c.error.first).toBe(true);
  });

  it('quarantine: a released pair comes back only once the quarantine has passed', () => {
    const { clock, ports } = allocator({ quarantineMs: 5_000 });
    const rtp = allocateAll(ports);
    expect(ports.release(rtp[2]!)).toBe(true);
    expect([ports.inUse, ports.quarantined, ports.free]).toEqual([4, 1, 0]);
    clock.advance(4_999);
    const early = ports.allocate();
    expect(early.ok ? 'ok' : early.error).toEqual({
      reason: 'exhausted',
      inUse: 4,
      quarantined: 1,
      first: true,
    });
    clock.advance(1);
    expect([ports.quarantined, ports.free]).toEqual([0, 1]);
    const again = ports.allocate();
    expect(again.ok && again.value.rtp).toBe(rtp[2]);
  });

  it('quarantines end in release order, each after its own quarantine', () => {
    const { clock, ports } = allocator({ quarantineMs: 1_000 });
    const rtp = allocateAll(ports);
    ports.release(rtp[0]!);
    clock.advance(400);
    ports.release(rtp[1]!);
    clock.advance(600);
    expect(ports.free).toBe(1);
    clock.advance(399);
    expect(ports.free).toBe(1);
    clock.advance(1);
    expect(ports.free).toBe(2);
  });

  it('defaults the quarantine to 64 × T1', () => {
    const clock = new ManualClock(0);
    const ports = new PortAllocator(
      { address: ADDRESS, portMin: 20_000, portMax: 20_001 },
      { clock, random: seededRandom(3) },
    );
    const pair = ports.allocate();
    ports.release(pair.ok ? pair.value.rtp : 0);
    clock.advance(DEFAULT_PORT_QUARANTINE_MS - 1);
    expect(ports.allocate().ok).toBe(false);
    clock.advance(1);
    expect(ports.allocate().ok).toBe(true);
    expect(DEFAULT_PORT_QUARANTINE_MS).toBe(32_000);
  });

  it('release: false for a double release, an RTCP port, a port it never gave out, or out of range', () => {
    const { ports } = allocator();
    const pair = ports.allocate();
    if (!pair.ok) throw new Error('no pair');
    expect(ports.release(pair.value.rtcp)).toBe(false);
    expect(ports.release(pair.value.rtp)).toBe(true);
    expect(ports.release(pair.value.rtp)).toBe(false);
    expect(ports.release(pair.value.rtp === 20_000 ? 20_002 : 20_000)).toBe(false);
    expect(ports.release(19_998)).toBe(false);
    expect(ports.release(20_010)).toBe(false);
    expect(ports.release(Number.NaN)).toBe(false);
    expect([ports.inUse, ports.quarantined]).toEqual([0, 1]);
  });

  it('reserve: marks a pair found in the kernel in use by its RTP or RTCP port; it is never allocated', () => {
    const { ports } = allocator();
    expect(ports.reserve(20_004)).toBe('reserved');
    expect(ports.reserve(20_005)).toBe('already-in-use');
    expect(ports.reserve(20_007)).toBe('reserved');
    expect(ports.reserve(19_999)).toBe('out-of-range');
    expect(ports.reserve(20_010)).toBe('out-of-range');
    expect([ports.inUse, ports.free]).toEqual([2, 3]);
    expect(ports.isInUse(20_006) && ports.isInUse(20_007) && !ports.isInUse(20_000)).toBe(true);
    expect(allocateAll(ports).sort()).toEqual([20_000, 20_002, 20_008]);
    expect(ports.release(20_006)).toBe(true);
  });

  it('reserve of a quarantined pair: in use at once, and its old quarantine does not free it', () => {
    const { clock, ports } = allocator({ quarantineMs: 1_000 });
    const rtp = allocateAll(ports);
    ports.release(rtp[0]!);
    expect(ports.reserve(rtp[0]!)).toBe('reserved');
    expect([ports.inUse, ports.quarantined]).toEqual([5, 0]);
    clock.advance(500);
    ports.release(rtp[0]!); // quarantined again, until 1500
    clock.advance(500); // the first quarantine's end: must not free it
    expect([ports.free, ports.quarantined]).toEqual([0, 1]);
    clock.advance(500);
    expect([ports.free, ports.quarantined]).toEqual([1, 0]);
  });

  it('picks at random: two seeds give different orders, one seed the same order', () => {
    const order = (seed: number) => allocateAll(allocator({ portMax: 20_199 }, seed).ports);
    expect(order(7)).toEqual(order(7));
    expect(order(7)).not.toEqual(order(8));
    expect(order(7)).not.toEqual([...order(7)].sort((a, b) => a - b));
  });

  it('draws uniformly without modulo bias (rejects the top 32-bit values)', () => {
    // Bytes that first give 0xffffffff (to be rejected), then 0x00000003.
    const bytes = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 3];
    let at = 0;
    const random: RandomBytes = {
      bytes: (size) => {
        at += size;
        return Uint8Array.from(bytes.slice(at - size, at));
      },
    };
    const ports = new PortAllocator(
      { address: ADDRESS, portMin: 20_000, portMax: 20_005, quarantineMs: 0 },
      { clock: new ManualClock(), random },
    );
    const pair = ports.allocate();
    expect(pair.ok && pair.value.rtp).toBe(20_000); // index 3 % 3 = 0
    expect(at).toBe(8);
  });

  it('refuses a range without a pair or out of 1–65535, and a bad quarantine', () => {
    const make = (options: Partial<PortAllocatorOptions>) => () => allocator(options);
    expect(make({ portMin: 20_001, portMax: 20_001 })).toThrow(RangeError);
    expect(make({ portMin: 20_001, portMax: 20_002 })).toThrow(RangeError);
    expect(make({ portMin: 30_000, portMax: 20_000 })).toThrow(RangeError);
    expect(make({ portMin: 0, portMax: 20_000 })).toThrow(RangeError);
    expect(make({ portMin: 65_534, portMax: 65_536 })).toThrow(RangeError);
    expect(make({ quarantineMs: -1 })).toThrow(RangeError);
    expect(allocator({ portMin: 65_534, portMax: 65_535 }).ports.capacity).toBe(1);
  });

  it('serves the whole default range (5,000 pairs) with O(1) steps', () => {
    const { clock, ports } = allocator({ portMin: 20_000, portMax: 29_999, quarantineMs: 10 });
    expect(ports.capacity).toBe(5_000);
    for (let round = 0; round < 20; round++) {
      const rtp = allocateAll(ports);
      expect(new Set(rtp).size).toBe(5_000);
      for (const p of rtp) ports.release(p);
      clock.advance(10);
    }
    expect([ports.inUse, ports.free]).toEqual([0, 5_000]);
  });
});

describe('PortAllocator under random sequences (fast-check)', () => {
  type Op =
    | { kind: 'allocate' }
    | { kind: 'release'; pick: number }
    | { kind: 'reserve'; port: number }
    | { kind: 'advance'; ms: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { arbitrary: fc.constant<Op>({ kind: 'allocate' }), weight: 4 },
    { arbitrary: fc.nat(1_000).map<Op>((pick) => ({ kind: 'release', pick })), weight: 3 },
    {
      arbitrary: fc.integer({ min: 19_995, max: 20_035 }).map<Op>((port) => ({ kind: 'reserve', port })),
      weight: 1,
    },
    { arbitrary: fc.integer({ min: 0, max: 400 }).map<Op>((ms) => ({ kind: 'advance', ms })), weight: 2 },
  );

  it('never gives out a pair in use or in quarantine, and its counts add up', () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 300 }),
        fc.integer(),
        fc.integer({ min: 0, max: 1_000 }),
        (ops, seed, q) => {
          const { clock, ports } = allocator({ portMin: 19_999, portMax: 20_030, quarantineMs: q }, seed);
          const inUse = new Set<number>();
          const releasedAt = new Map<number, number>();
          for (const o of ops) {
            if (o.kind === 'allocate') {
              const pair = ports.allocate();
              if (!pair.ok) {
                // Exhausted only when nothing is free: every pair is in use or released under q ms ago.
                expect(pair.error.inUse + pair.error.quarantined).toBe(ports.capacity);
                continue;
              }
              const { rtp, rtcp } = pair.value;
              expect(rtp % 2 === 0 && rtcp === rtp + 1 && rtp >= 20_000 && rtcp <= 20_029).toBe(true);
              expect(inUse.has(rtp)).toBe(false);
              const released = releasedAt.get(rtp);
              if (released !== undefined) expect(clock.now() - released).toBeGreaterThanOrEqual(q);
              inUse.add(rtp);
            } else if (o.kind === 'release') {
              const held = [...inUse];
              const rtp = held.length === 0 ? 20_000 : held[o.pick % held.length]!;
              expect(ports.release(rtp)).toBe(inUse.has(rtp));
              if (inUse.delete(rtp)) releasedAt.set(rtp, clock.now());
            } else if (o.kind === 'reserve') {
              const rtp = o.port - (o.port % 2);
              const outcome = ports.reserve(o.port);
              if (rtp < 20_000 || rtp > 20_028) expect(outcome).toBe('out-of-range');
              else expect(outcome).toBe(inUse.has(rtp) ? 'already-in-use' : 'reserved');
              if (outcome === 'reserved') inUse.add(rtp);
            } else {
              clock.advance(o.ms);
            }
            expect(ports.inUse).toBe(inUse.size);
            expect(ports.inUse + ports.free + ports.quarantined).toBe(ports.capacity);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('withRange (a pushed media port range)', () => {
  it('hands out only ports of the new range; a live call keeps its pair until it releases it', () => {
    const { ports } = allocator({ portMin: 20_000, portMax: 20_009 });
    const live = allocateAll(ports);
    const next = ports.withRange({ portMin: 20_004, portMax: 20_015, quarantineMs: 5_000 });
    const kept = live.filter((p) => p >= 20_004);
    for (const p of kept) expect(next.isInUse(p)).toBe(true);
    const fresh = allocateAll(next);
    expect(fresh.length).toBe(next.capacity - kept.length);
    for (const p of fresh) {
      expect(p).toBeGreaterThanOrEqual(20_004);
      expect(p).toBeLessThanOrEqual(20_014);
      expect(live).not.toContain(p);
    }
    // A live call's pair released later goes back to the new allocator (quarantined there).
    expect(next.release(kept[0]!)).toBe(true);
    expect(next.quarantined).toBe(1);
    // One outside the new range is simply not the new allocator's.
    expect(next.release(20_000)).toBe(false);
  });
});
