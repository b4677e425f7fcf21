import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CODECS,
  type CodecName,
  codecProfile,
  delayImpairment,
  effectiveEquipmentImpairment,
  estimateQuality,
  jitterToMs,
  mosFromR,
  R_DEFAULT,
  rFactor,
} from '../../src/media/quality/emodel.js';

const clean = { lossPercent: 0, jitterMs: 0, rttMs: 0 };

describe('E-model reference points', () => {
  it('G.711 with no loss and no delay: R = 93.2 (G.107 defaults), MOS ≈ 4.41', () => {
    for (const codec of ['PCMU', 'PCMA'] as const) {
      const q = estimateQuality({ ...clean, codec });
      expect(q.r).toBeCloseTo(93.2, 6);
      expect(q.mos).toBeCloseTo(4.409, 3);
    }
  });

  it('G.711 on a good LAN (20 ms RTT, 2 ms jitter) stays ≈ 93 / 4.4', () => {
    const q = estimateQuality({ lossPercent: 0, jitterMs: 2, rttMs: 20, codec: 'PCMU' });
    // d = 10 + 4 = 14 ms, Id = 0.336
    expect(q.r).toBeCloseTo(92.864, 3);
    expect(q.mos).toBeCloseTo(4.4, 1);
  });

  it('G.729A: R = 82.2 (Ie 11), MOS ≈ 4.10', () => {
    const q = estimateQuality({ ...clean, codec: 'G729' });
    expect(q.r).toBeCloseTo(82.2, 6);
    expect(q.mos).toBeCloseTo(4.104, 3);
  });

  it('random loss through Bpl: G.711 with PLC at 1 % and 5 %', () => {
    // Ie,eff = 95 · 1 / (1 + 25.1) = 3.640; 95 · 5 / (5 + 25.1) = 15.781
    expect(rFactor({ ...clean, lossPercent: 1, codec: 'PCMU' })).toBeCloseTo(89.56, 2);
    expect(rFactor({ ...clean, lossPercent: 5, codec: 'PCMU' })).toBeCloseTo(77.419, 3);
    // G.729A at 2 %: 11 + 84 · 2 / (2 + 19) = 19.0
    expect(rFactor({ ...clean, lossPercent: 2, codec: 'G729' })).toBeCloseTo(74.2, 6);
  });

  it('bursty loss hurts more than random loss (BurstR)', () => {
    // 95 · 2 / (2/2 + 25.1) = 7.280
    expect(rFactor({ ...clean, lossPercent: 2, codec: 'PCMU', burstRatio: 2 })).toBeCloseTo(85.92, 2);
    expect(rFactor({ ...clean, lossPercent: 2, codec: 'PCMU', burstRatio: 2 })).toBeLessThan(
      rFactor({ ...clean, lossPercent: 2, codec: 'PCMU' }),
    );
  });

  it('delay: linear up to 177.3 ms one way, steeper after', () => {
    expect(delayImpairment(0)).toBe(0);
    expect(delayImpairment(100)).toBeCloseTo(2.4, 9);
    expect(delayImpairment(177.3)).toBeCloseTo(4.2552, 9);
    expect(delayImpairment(400)).toBeCloseTo(9.6 + 0.11 * 222.7, 9);
    // 800 ms RTT, no jitter: d = 400 ms, R ≈ 59.1 (users dissatisfied)
    expect(rFactor({ ...clean, rttMs: 800, codec: 'PCMU' })).toBeCloseTo(59.103, 3);
  });

  it('jitter counts twice (jitter buffer) in the one-way delay', () => {
    expect(rFactor({ lossPercent: 0, jitterMs: 50, rttMs: 0, codec: 'PCMU' })).toBeCloseTo(
      rFactor({ lossPercent: 0, jitterMs: 0, rttMs: 200, codec: 'PCMU' }),
      9,
    );
  });

  it('R stays in 0..100 under hopeless conditions', () => {
    const r = rFactor({ lossPercent: 100, jitterMs: 1000, rttMs: 5000, codec: 'G729' });
    expect(r).toBe(0);
    expect(mosFromR(r)).toBe(1);
  });
});

describe('MOS from R (G.107 Annex B)', () => {
  it('known points', () => {
    expect(mosFromR(-5)).toBe(1);
    expect(mosFromR(0)).toBe(1);
    expect(mosFromR(50)).toBeCloseTo(2.575, 9);
    expect(mosFromR(80)).toBeCloseTo(4.024, 9);
    expect(mosFromR(100)).toBe(4.5);
    expect(mosFromR(120)).toBe(4.5);
    expect(mosFromR(Number.NaN)).toBe(1);
  });

  it('is continuous at both ends and rises with R', () => {
    expect(mosFromR(1e-9)).toBeCloseTo(1, 6);
    expect(mosFromR(3)).toBe(1); // the cubic's dip below 1 for 0 < R < 6.5, held at 1
    expect(mosFromR(100 - 1e-9)).toBeCloseTo(4.5, 6);
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (x, y) => {
          const [lo, hi] = x <= y ? [x, y] : [y, x];
          expect(mosFromR(lo)).toBeLessThanOrEqual(mosFromR(hi) + 1e-12);
        },
      ),
    );
  });
});

describe('E-model: monotonic in every impairment', () => {
  const codecArb = fc.constantFrom<CodecName>('PCMU', 'PCMA', 'G722', 'opus', 'G729');
  const pct = fc.double({ min: 0, max: 100, noNaN: true });
  const ms = fc.double({ min: 0, max: 2000, noNaN: true });
  it('more loss, jitter or delay never raises the MOS', () => {
    fc.assert(
      fc.property(codecArb, pct, pct, ms, ms, ms, ms, (codec, l1, l2, j1, j2, d1, d2) => {
        const worse = estimateQuality({
          codec,
          lossPercent: Math.max(l1, l2),
          jitterMs: Math.max(j1, j2),
          rttMs: Math.max(d1, d2),
        });
        const better = estimateQuality({
          codec,
          lossPercent: Math.min(l1, l2),
          jitterMs: Math.min(j1, j2),
          rttMs: Math.min(d1, d2),
        });
        expect(worse.mos).toBeLessThanOrEqual(better.mos + 1e-12);
        expect(worse.r).toBeGreaterThanOrEqual(0);
        expect(better.r).toBeLessThanOrEqual(R_DEFAULT);
      }),
    );
  });
});

describe('codec table and units', () => {
  it('finds profiles by SDP encoding name, any case', () => {
    expect(codecProfile('pcmu')).toBe(CODECS.PCMU);
    expect(codecProfile('PCMA')).toBe(CODECS.PCMA);
    expect(codecProfile('g722')).toBe(CODECS.G722);
    expect(codecProfile('OPUS')).toBe(CODECS.opus);
    expect(codecProfile('G729')).toBe(CODECS.G729);
    expect(codecProfile('speex')).toBeUndefined();
  });

  it('converts RTCP jitter with the codec’s RTP clock (G.722 runs at 8000 Hz, Opus at 48000 Hz)', () => {
    expect(jitterToMs(80, CODECS.PCMU.clockRate)).toBe(10);
    expect(jitterToMs(80, CODECS.G722.clockRate)).toBe(10);
    expect(jitterToMs(480, CODECS.opus.clockRate)).toBe(10);
  });

  it('Ie,eff is Ie without loss and tends to 95 with total loss', () => {
    expect(effectiveEquipmentImpairment(CODECS.G729, 0)).toBe(11);
    expect(effectiveEquipmentImpairment(CODECS.PCMU, 100)).toBeCloseTo((95 * 100) / 125.1, 9);
    expect(effectiveEquipmentImpairment(CODECS.PCMU, -3)).toBe(0);
  });

  it('accepts a custom codec profile', () => {
    expect(rFactor({ ...clean, codec: { ie: 20, bpl: 10, clockRate: 16_000 } })).toBeCloseTo(73.2, 9);
  });
});
