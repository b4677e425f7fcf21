import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ntpMiddle32,
  ntpMiddle32FromUnixMs,
  parseRtcp,
  type RtcpPacket,
  type RtcpParseErrorCode,
  type RtcpReportBlock,
  roundTripMs,
} from '../../src/media/quality/rtcp.js';

// ---- fixtures built by hand, RFC 3550 §6.4 layout ----

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex'));

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** 24-byte report block (RFC 3550 §6.4.1). */
function block(b: RtcpReportBlock): number[] {
  const lost = b.cumulativeLost & 0xff_ffff;
  return [
    ...u32(b.ssrc),
    b.fractionLost,
    (lost >> 16) & 0xff,
    (lost >> 8) & 0xff,
    lost & 0xff,
    ...u32(b.extendedHighestSeq),
    ...u32(b.jitter),
    ...u32(b.lsr),
    ...u32(b.dlsr),
  ];
}

/** Common header: V=2, P, count, PT, length in words − 1 (of the body given, padding included). */
function header(count: number, pt: number, bodyBytes: number, padded = false): number[] {
  const words = (bodyBytes + 4) / 4 - 1;
  return [0x80 | (padded ? 0x20 : 0) | count, pt, (words >> 8) & 0xff, words & 0xff];
}

function sr(p: Omit<Extract<RtcpPacket, { type: 'sr' }>, 'type'>): number[] {
  const body = [
    ...u32(p.ssrc),
    ...u32(p.ntpSeconds),
    ...u32(p.ntpFraction),
    ...u32(p.rtpTimestamp),
    ...u32(p.packetCount),
    ...u32(p.octetCount),
    ...p.reports.flatMap(block),
  ];
  return [...header(p.reports.length, 200, body.length), ...body];
}

function rr(ssrc: number, reports: readonly RtcpReportBlock[]): number[] {
  const body = [...u32(ssrc), ...reports.flatMap(block)];
  return [...header(reports.length, 201, body.length), ...body];
}

/** Any other packet type with an opaque body of whole words. */
function opaque(pt: number, count: number, body: number[]): number[] {
  return [...header(count, pt, body.length), ...body];
}

const BLOCK: RtcpReportBlock = {
  ssrc: 0x5e6f7081,
  fractionLost: 13,
  cumulativeLost: 42,
  extendedHighestSeq: 66_536,
  jitter: 80,
  lsr: 0x3b1f4000,
  dlsr: 0x00018000,
};

/**
 * A compound SR + SDES as a desk phone sends it (written out as a capture would show it): SR with
 * one report block, then SDES with a CNAME item, its null terminator and one octet of padding.
 */
const CAPTURED_SR_SDES = hex(`
  81 c8 00 0c  2a 1b 3c 4d  e9 5a 3b 20  80 00 00 00
  00 01 f4 00  00 00 00 fa  00 00 9c 40
  5e 6f 70 81  0d 00 00 2a  00 01 03 e8  00 00 00 50
  3b 1f 40 00  00 01 80 00
  81 ca 00 06  2a 1b 3c 4d  01 10 61 6c  69 63 65 40
  31 39 32 2e  30 2e 32 2e  31 30 00 00
`);

describe('parseRtcp: fixtures', () => {
  it('reads a captured-style compound SR + SDES', () => {
    expect(CAPTURED_SR_SDES.length).toBe(80);
    expect(parseRtcp(CAPTURED_SR_SDES)).toEqual({
      ok: true,
      value: [
        {
          type: 'sr',
          ssrc: 0x2a1b3c4d,
          ntpSeconds: 0xe95a3b20,
          ntpFraction: 0x80000000,
          rtpTimestamp: 128_000,
          packetCount: 250,
          octetCount: 40_000,
          reports: [BLOCK],
        },
        { type: 'sdes', packetType: 202, byteLength: 28 },
      ],
    });
  });

  it('reads an RR with two report blocks and a negative cumulative loss (duplicates)', () => {
    const second = { ...BLOCK, ssrc: 7, cumulativeLost: -3, fractionLost: 0, lsr: 0, dlsr: 0 };
    const bytes = Uint8Array.from(rr(0x01020304, [BLOCK, second]));
    expect(bytes.length).toBe(8 + 48);
    // the 24-bit field of -3 on the wire
    expect([...bytes.subarray(8 + 24 + 5, 8 + 24 + 8)]).toEqual([0xff, 0xff, 0xfd]);
    expect(parseRtcp(bytes)).toEqual({
      ok: true,
      value: [{ type: 'rr', ssrc: 0x01020304, reports: [BLOCK, second] }],
    });
  });

  it('reads the extreme cumulative losses of 24 bits', () => {
    const max = parseRtcp(Uint8Array.from(rr(1, [{ ...BLOCK, cumulativeLost: 0x7f_ffff }])));
    const min = parseRtcp(Uint8Array.from(rr(1, [{ ...BLOCK, cumulativeLost: -0x80_0000 }])));
    expect(max.ok && max.value[0]?.type === 'rr' && max.value[0].reports[0]?.cumulativeLost).toBe(8_388_607);
    expect(min.ok && min.value[0]?.type === 'rr' && min.value[0].reports[0]?.cumulativeLost).toBe(-8_388_608);
  });

  it('walks over BYE, APP, feedback, XR and unknown types by their length', () => {
    const bytes = Uint8Array.from([
      ...rr(9, []),
      ...opaque(203, 1, u32(9)),
      ...opaque(204, 0, [...u32(9), 0x6e, 0x61, 0x6d, 0x65]),
      ...opaque(205, 1, [...u32(9), ...u32(10)]),
      ...opaque(206, 1, [...u32(9), ...u32(10)]),
      ...opaque(207, 0, [...u32(9), 4, 0, 0, 2, ...u32(0xdead)]),
      ...opaque(99, 0, []),
    ]);
    const parsed = parseRtcp(bytes);
    expect(parsed.ok && parsed.value.map((p) => p.type)).toEqual([
      'rr',
      'bye',
      'app',
      'rtpfb',
      'psfb',
      'xr',
      'unknown',
    ]);
  });

  it('accepts padding on the last packet', () => {
    const body = [...u32(9), ...block(BLOCK), 0, 0, 0, 4];
    const bytes = Uint8Array.from([...header(1, 201, body.length, true), ...body]);
    const parsed = parseRtcp(bytes);
    expect(parsed.ok && parsed.value).toEqual([{ type: 'rr', ssrc: 9, reports: [BLOCK] }]);
  });
});

describe('parseRtcp: refusals', () => {
  const cases: Array<[string, number[], RtcpParseErrorCode, number]> = [
    ['empty', [], 'empty', 0],
    ['three bytes', [0x80, 201, 0], 'truncated-header', 0],
    ['version 1', [0x40, 201, 0, 1, ...u32(9)], 'bad-version', 0],
    ['version 0 (an RTP/STUN mix-up)', [0x00, 0x01, 0x00, 0x00], 'bad-version', 0],
    ['length past the datagram', [0x80, 201, 0, 2, ...u32(9)], 'bad-length', 0],
    ['trailing bytes after the last packet', [...rr(9, []), 0x80], 'truncated-header', 8],
    ['second packet not version 2', [...rr(9, []), 0xc0, 202, 0, 0], 'bad-version', 8],
    ['RR claiming a block it lacks', [0x81, 201, 0, 1, ...u32(9)], 'bad-report-count', 0],
    ['SR shorter than its fixed part', [0x80, 200, 0, 1, ...u32(9)], 'bad-report-count', 0],
    [
      'padding on a packet that is not the last',
      [0xa0, 201, 0, 1, ...u32(1), ...rr(9, [])],
      'bad-padding',
      0,
    ],
    ['padding count of zero', [0xa0, 201, 0, 1, 0, 0, 0, 0], 'bad-padding', 0],
    ['padding longer than the packet', [0xa0, 201, 0, 1, 0, 0, 0, 9], 'bad-padding', 0],
    [
      'padding eating the report block',
      [0xa1, 201, 0, 7, ...u32(9), ...block(BLOCK).slice(0, 20), 0, 0, 0, 4],
      'bad-report-count',
      0,
    ],
  ];
  for (const [name, bytes, code, offset] of cases) {
    it(`refuses ${name}`, () => {
      expect(parseRtcp(Uint8Array.from(bytes))).toEqual({ ok: false, error: { code, offset } });
    });
  }

  it('refuses every truncation of a valid compound that does not end on a packet boundary', () => {
    for (let n = 1; n < CAPTURED_SR_SDES.length; n++) {
      const r = parseRtcp(CAPTURED_SR_SDES.subarray(0, n));
      expect(r.ok, `length ${n}`).toBe(n === 52);
    }
  });
});

describe('parseRtcp: fuzz', () => {
  const u32Arb = fc.integer({ min: 0, max: 0xffff_ffff });
  const blockArb: fc.Arbitrary<RtcpReportBlock> = fc.record({
    ssrc: u32Arb,
    fractionLost: fc.integer({ min: 0, max: 255 }),
    cumulativeLost: fc.integer({ min: -0x80_0000, max: 0x7f_ffff }),
    extendedHighestSeq: u32Arb,
    jitter: u32Arb,
    lsr: u32Arb,
    dlsr: u32Arb,
  });
  const blocksArb = fc.array(blockArb, { maxLength: 31 });
  const packetArb: fc.Arbitrary<RtcpPacket> = fc.oneof(
    fc.record({
      type: fc.constant('sr' as const),
      ssrc: u32Arb,
      ntpSeconds: u32Arb,
      ntpFraction: u32Arb,
      rtpTimestamp: u32Arb,
      packetCount: u32Arb,
      octetCount: u32Arb,
      reports: blocksArb,
    }),
    fc.record({ type: fc.constant('rr' as const), ssrc: u32Arb, reports: blocksArb }),
    fc.integer({ min: 0, max: 40 }).map((words) => ({
      type: 'sdes' as const,
      packetType: 202,
      byteLength: 4 + words * 4,
    })),
  );
  const encode = (p: RtcpPacket): number[] => {
    if (p.type === 'sr') return sr(p);
    if (p.type === 'rr') return rr(p.ssrc, p.reports);
    return opaque(p.packetType, 1, new Array<number>(p.byteLength - 4).fill(0x41));
  };

  it('never throws on arbitrary bytes, and says why it refuses', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const r = parseRtcp(bytes);
        if (!r.ok) expect(r.error.offset).toBeLessThanOrEqual(bytes.length);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on arbitrary bytes behind a plausible first byte', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 31 }), fc.uint8Array({ maxLength: 300 }), (rc, rest) => {
        parseRtcp(Uint8Array.from([0x80 | rc, 200 + ((rest[0] ?? 0) % 8), 0, rest.length >> 2, ...rest]));
      }),
      { numRuns: 3000 },
    );
  });

  it('round-trips any compound of SR, RR and skipped packets built per RFC 3550', () => {
    fc.assert(
      fc.property(fc.array(packetArb, { minLength: 1, maxLength: 5 }), (packets) => {
        const bytes = Uint8Array.from(packets.flatMap(encode));
        expect(parseRtcp(bytes)).toEqual({ ok: true, value: packets });
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on a valid compound with one byte changed', () => {
    fc.assert(
      fc.property(
        fc.array(packetArb, { minLength: 1, maxLength: 3 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        (packets, at, value) => {
          const bytes = Uint8Array.from(packets.flatMap(encode));
          bytes[at % bytes.length] = value;
          parseRtcp(bytes);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('round-trip time (RFC 3550 §6.4.1)', () => {
  it('takes the middle 32 bits of an NTP timestamp', () => {
    expect(ntpMiddle32(0xe95a3b20, 0x80000000)).toBe(0x3b208000);
    expect(ntpMiddle32(0xffffffff, 0xffffffff)).toBe(0xffffffff);
  });

  it('converts a Unix time to NTP middle 32 bits', () => {
    // 1970-01-01T00:00:00Z is NTP second 2208988800 = 0x83aa7e80: low 16 bits 0x7e80.
    expect(ntpMiddle32FromUnixMs(0)).toBe(0x7e800000);
    expect(ntpMiddle32FromUnixMs(500)).toBe(0x7e808000);
    expect(ntpMiddle32FromUnixMs(1250)).toBe(0x7e814000);
  });

  it('computes RFC 3550’s example: A = 0xb710:8000, LSR = 0xb705:2000, DLSR = 0x0005:4000 gives 6.125 s', () => {
    // RFC 3550 §6.4.1 figure: A 46864.500 s, LSR 46853.125 s, DLSR 5.250 s, delay 6.125 s.
    expect(roundTripMs({ lsr: 0xb7052000, dlsr: 0x00054000 }, 0xb7108000)).toBe(6125);
  });

  it('uses the injected clock value for the arrival time', () => {
    const srSentMs = 1_700_000_000_000;
    const lsr = ntpMiddle32FromUnixMs(srSentMs);
    const dlsr = 0x8000; // 0.5 s held by the receiver
    const arrival = ntpMiddle32FromUnixMs(srSentMs + 620);
    expect(roundTripMs({ lsr, dlsr }, arrival)).toBeCloseTo(120, 0);
  });

  it('survives the wrap of the middle 32 bits', () => {
    expect(roundTripMs({ lsr: 0xffff8000, dlsr: 0 }, 0x00008000)).toBe(1000);
  });

  it('has no value without an SR (LSR 0) or when the clocks make it negative', () => {
    expect(roundTripMs({ lsr: 0, dlsr: 0 }, 0x12345678)).toBeUndefined();
    expect(roundTripMs({ lsr: 0x00020000, dlsr: 0x00010000 }, 0x00020000)).toBeUndefined();
  });
});
