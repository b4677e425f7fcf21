import { describe, expect, it } from 'vitest';
import { estimateQuality } from '../../src/media/quality/emodel.js';
import { ntpMiddle32 } from '../../src/media/quality/rtcp.js';
import { StreamQualityTracker } from '../../src/media/quality/tracker.js';
import type { PinholeCounters } from '../../src/media/types.js';

// RTCP by hand (RFC 3550 §6.4): an SR without report blocks, an RR with one block.
const u32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

function srBytes(ssrc: number, ntpSeconds: number, ntpFraction: number): Uint8Array {
  return Uint8Array.from([
    0x80,
    200,
    0,
    6,
    ...u32(ssrc),
    ...u32(ntpSeconds),
    ...u32(ntpFraction),
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
}

function rrBytes(
  ssrc: number,
  b: { fractionLost: number; jitter: number; lsr: number; dlsr: number },
): Uint8Array {
  return Uint8Array.from([
    0x81,
    201,
    0,
    7,
    ...u32(ssrc),
    ...u32(0xabcdef01),
    b.fractionLost,
    0,
    0,
    7,
    ...u32(1000),
    ...u32(b.jitter),
    ...u32(b.lsr),
    ...u32(b.dlsr),
  ]);
}

function counters(aToB: number, bToA: number, dropped = 0): PinholeCounters {
  return { aToB: { packets: aToB, bytes: aToB * 172 }, bToA: { packets: bToA, bytes: bToA * 172 }, dropped };
}

describe('stream quality: one-way audio', () => {
  it('flags one-way audio when one direction is silent for more than N seconds while the other flows', () => {
    const t = new StreamQualityTracker({ codec: 'PCMU', oneWayAfterSec: 5, startedAtMs: 0 });
    // a sends 50 packets per second from the start, b nothing
    for (let now = 0; now <= 4000; now += 1000) t.observeCounters(now, counters(50 + now / 20, 0));
    expect(t.snapshot(4000).oneWay).toBe(false);
    for (let now = 5000; now <= 6000; now += 1000) t.observeCounters(now, counters(50 + now / 20, 0));
    const a = 50 + 6000 / 20;
    const s = t.snapshot(6000);
    expect(s.oneWay).toBe(true);
    expect(s.silentDirection).toBe('bToA');
    expect(s.aToB).toEqual({ packets: a, bytes: a * 172 });
    // b starts sending: two-way again
    t.observeCounters(7000, counters(a + 50, 50));
    expect(t.snapshot(7000)).toMatchObject({ oneWay: false });
    expect(t.snapshot(7000).silentDirection).toBeUndefined();
  });

  it('is not one-way when both directions are silent (hold, or dead media) nor when both flow', () => {
    const t = new StreamQualityTracker({ codec: 'PCMU', oneWayAfterSec: 2, startedAtMs: 0 });
    t.observeCounters(1000, counters(0, 0));
    expect(t.snapshot(10_000).oneWay).toBe(false);
    t.observeCounters(11_000, counters(50, 50));
    t.observeCounters(12_000, counters(100, 100));
    expect(t.snapshot(12_500).oneWay).toBe(false);
    // a stops: one-way after 2 s of a's silence
    t.observeCounters(13_000, counters(100, 150));
    t.observeCounters(14_000, counters(100, 200));
    expect(t.snapshot(14_000).oneWay).toBe(false);
    t.observeCounters(14_500, counters(100, 250));
    expect(t.snapshot(14_500)).toMatchObject({ oneWay: true, silentDirection: 'aToB', dropped: 0 });
  });
});

describe('stream quality: RTCP', () => {
  it('takes loss and jitter from the receiving party’s report and estimates R/MOS per direction', () => {
    const t = new StreamQualityTracker({ codec: 'PCMU', oneWayAfterSec: 5, startedAtMs: 0 });
    // b reports on what it receives: the a → b direction. 26/256 lost ≈ 10.2 %, jitter 160 = 20 ms.
    expect(
      t.observeRtcp(1000, 'b', rrBytes(2, { fractionLost: 26, jitter: 160, lsr: 0, dlsr: 0 })),
    ).toBeUndefined();
    const s = t.snapshot(1000);
    const expected = estimateQuality({
      lossPercent: (26 / 256) * 100,
      jitterMs: 20,
      rttMs: 0,
      codec: 'PCMU',
    });
    expect(s.aToB.report).toEqual({
      atMs: 1000,
      lossPercent: (26 / 256) * 100,
      cumulativeLost: 7,
      jitterMs: 20,
    });
    expect(s.aToB.r).toBeCloseTo(expected.r, 9);
    expect(s.aToB.mos).toBeCloseTo(expected.mos, 9);
    expect(s.bToA.report).toBeUndefined();
    expect(s.bToA.mos).toBeUndefined();
  });

  it('measures each leg’s round trip in the relay’s own clock and adds them', () => {
    const t = new StreamQualityTracker({ codec: 'PCMU', oneWayAfterSec: 5, startedAtMs: 0 });
    // a's SR passes the relay at 10 000 ms (a's NTP clock is far off: it does not matter).
    t.observeRtcp(10_000, 'a', srBytes(1, 0x12345678, 0x40000000));
    // b answers 0.25 s after it got it (DLSR 0x4000), the report passes the relay at 10 290 ms.
    t.observeRtcp(
      10_290,
      'b',
      rrBytes(2, { fractionLost: 0, jitter: 0, lsr: ntpMiddle32(0x12345678, 0x40000000), dlsr: 0x4000 }),
    );
    expect(t.snapshot(10_300).legRttMs).toEqual({ b: 40 });
    expect(t.snapshot(10_300).rttMs).toBeUndefined();
    // and the other way: b's SR at 11 000, a's report at 11 530 with DLSR 0.5 s
    t.observeRtcp(11_000, 'b', srBytes(2, 0xe95a3b20, 0));
    t.observeRtcp(
      11_530,
      'a',
      rrBytes(1, { fractionLost: 0, jitter: 0, lsr: ntpMiddle32(0xe95a3b20, 0), dlsr: 0x8000 }),
    );
    const s = t.snapshot(11_600);
    expect(s.legRttMs).toEqual({ a: 30, b: 40 });
    expect(s.rttMs).toBe(70);
    expect(s.bToA.r).toBeCloseTo(
      estimateQuality({ lossPercent: 0, jitterMs: 0, rttMs: 70, codec: 'PCMU' }).r,
      9,
    );
  });

  it('ignores a report naming an SR it did not see, and a datagram that is not RTCP', () => {
    const t = new StreamQualityTracker({ codec: 'G729', oneWayAfterSec: 5, startedAtMs: 0 });
    t.observeRtcp(1000, 'b', rrBytes(2, { fractionLost: 0, jitter: 0, lsr: 0x11112222, dlsr: 0 }));
    expect(t.snapshot(1000).legRttMs).toEqual({});
    expect(t.observeRtcp(1000, 'a', Uint8Array.from([0x80, 0x00, 0x12, 0x34]))).toEqual({
      code: 'bad-length',
      offset: 0,
    });
    expect(t.snapshot(1000).bToA.report).toBeUndefined();
  });
});
