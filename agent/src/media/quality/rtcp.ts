/**
 * RTCP compound packet parser (RFC 3550 §6.4) and round-trip time (RFC 3550 §6.4.1). Pure: bytes
 * in, a typed result out; garbage yields `{ ok: false, error }`, never an exception.
 *
 * Parsed: SR (200) and RR (201) with their report blocks. Walked over, by their length field: SDES
 * (202), BYE (203), APP (204), RTPFB (205), PSFB (206), XR (207) and any other type.
 * Checked (RFC 3550 Appendix A.2): version 2 on every packet, each length inside the datagram and
 * the lengths adding up to it exactly, padding only on the last packet and no longer than it,
 * the report count fitting the packet. Not checked: that the first packet is an SR or RR (RFC 5506
 * reduced-size RTCP sends feedback alone), nor SRTCP (encrypted reports do not parse; that is
 * the expected outcome, not an attack).
 */

export interface RtcpReportBlock {
  /** SSRC of the source this block reports on. */
  readonly ssrc: number;
  /** Fraction of packets lost since the previous report, in 1/256 (0–255). */
  readonly fractionLost: number;
  /** Cumulative packets lost, 24-bit signed (negative with duplicates). */
  readonly cumulativeLost: number;
  readonly extendedHighestSeq: number;
  /** Interarrival jitter in RTP timestamp units (the codec's clock rate). */
  readonly jitter: number;
  /** Middle 32 bits of the NTP timestamp of the last SR received from the source; 0 if none. */
  readonly lsr: number;
  /** Delay since that SR, in 1/65536 s; 0 if none. */
  readonly dlsr: number;
}

export interface RtcpSenderReport {
  readonly type: 'sr';
  readonly ssrc: number;
  readonly ntpSeconds: number;
  readonly ntpFraction: number;
  readonly rtpTimestamp: number;
  readonly packetCount: number;
  readonly octetCount: number;
  readonly reports: readonly RtcpReportBlock[];
}

export interface RtcpReceiverReport {
  readonly type: 'rr';
  readonly ssrc: number;
  readonly reports: readonly RtcpReportBlock[];
}

export type RtcpSkippedType = 'sdes' | 'bye' | 'app' | 'rtpfb' | 'psfb' | 'xr' | 'unknown';

/** A packet the parser walks over without reading its body. */
export interface RtcpSkippedPacket {
  readonly type: RtcpSkippedType;
  readonly packetType: number;
  /** Whole packet, header and padding included. */
  readonly byteLength: number;
}

export type RtcpPacket = RtcpSenderReport | RtcpReceiverReport | RtcpSkippedPacket;

export type RtcpParseErrorCode =
  | 'empty'
  | 'truncated-header'
  | 'bad-version'
  | 'bad-length'
  | 'bad-padding'
  | 'bad-report-count';

export interface RtcpParseError {
  readonly code: RtcpParseErrorCode;
  /** Byte offset of the packet (within the compound) where the problem is. */
  readonly offset: number;
}

export type RtcpParseResult =
  | { readonly ok: true; readonly value: readonly RtcpPacket[] }
  | { readonly ok: false; readonly error: RtcpParseError };

export const RTCP_SR = 200;
export const RTCP_RR = 201;
const SKIPPED: Readonly<Record<number, RtcpSkippedType>> = {
  202: 'sdes',
  203: 'bye',
  204: 'app',
  205: 'rtpfb',
  206: 'psfb',
  207: 'xr',
};

const HEADER_BYTES = 4;
const REPORT_BLOCK_BYTES = 24;
/** Header + sender SSRC + NTP (8) + RTP timestamp + packet count + octet count. */
const SR_FIXED_BYTES = 28;
/** Header + sender SSRC. */
const RR_FIXED_BYTES = 8;

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function fail(code: RtcpParseErrorCode, offset: number): RtcpParseResult {
  return { ok: false, error: { code, offset } };
}

function reportBlock(b: Uint8Array, o: number): RtcpReportBlock {
  const lost24 = (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!;
  return {
    ssrc: u32(b, o),
    fractionLost: b[o + 4]!,
    cumulativeLost: (lost24 << 8) >> 8,
    extendedHighestSeq: u32(b, o + 8),
    jitter: u32(b, o + 12),
    lsr: u32(b, o + 16),
    dlsr: u32(b, o + 20),
  };
}

function reportBlocks(b: Uint8Array, o: number, count: number): RtcpReportBlock[] {
  const out: RtcpReportBlock[] = [];
  for (let i = 0; i < count; i++) out.push(reportBlock(b, o + i * REPORT_BLOCK_BYTES));
  return out;
}

/** Parses one RTCP datagram (a compound packet, or a single packet). */
export function parseRtcp(bytes: Uint8Array): RtcpParseResult {
  if (bytes.length === 0) return fail('empty', 0);
  const packets: RtcpPacket[] = [];
  let o = 0;
  while (o < bytes.length) {
    if (bytes.length - o < HEADER_BYTES) return fail('truncated-header', o);
    const first = bytes[o]!;
    if (first >> 6 !== 2) return fail('bad-version', o);
    const padded = (first & 0x20) !== 0;
    const count = first & 0x1f;
    const packetType = bytes[o + 1]!;
    const byteLength = (((bytes[o + 2]! << 8) | bytes[o + 3]!) + 1) * 4;
    if (o + byteLength > bytes.length) return fail('bad-length', o);
    const last = o + byteLength === bytes.length;
    let bodyEnd = o + byteLength;
    if (padded) {
      const pad = bytes[bodyEnd - 1]!;
      if (!last || pad === 0 || pad > byteLength - HEADER_BYTES) return fail('bad-padding', o);
      bodyEnd -= pad;
    }
    const usable = bodyEnd - o;
    if (packetType === RTCP_SR) {
      if (usable < SR_FIXED_BYTES + count * REPORT_BLOCK_BYTES) return fail('bad-report-count', o);
      packets.push({
        type: 'sr',
        ssrc: u32(bytes, o + 4),
        ntpSeconds: u32(bytes, o + 8),
        ntpFraction: u32(bytes, o + 12),
        rtpTimestamp: u32(bytes, o + 16),
        packetCount: u32(bytes, o + 20),
        octetCount: u32(bytes, o + 24),
        reports: reportBlocks(bytes, o + SR_FIXED_BYTES, count),
      });
    } else if (packetType === RTCP_RR) {
      if (usable < RR_FIXED_BYTES + count * REPORT_BLOCK_BYTES) return fail('bad-report-count', o);
      packets.push({
        type: 'rr',
        ssrc: u32(bytes, o + 4),
        reports: reportBlocks(bytes, o + RR_FIXED_BYTES, count),
      });
    } else {
      packets.push({ type: SKIPPED[packetType] ?? 'unknown', packetType, byteLength });
    }
    o += byteLength;
  }
  return { ok: true, value: packets };
}

/** Seconds between the NTP era 0 origin (1900-01-01) and the Unix epoch. */
const NTP_UNIX_OFFSET_SEC = 2_208_988_800;

/** The middle 32 bits of a 64-bit NTP timestamp: low 16 bits of the seconds, high 16 of the fraction. */
export function ntpMiddle32(ntpSeconds: number, ntpFraction: number): number {
  return (((ntpSeconds & 0xffff) << 16) | (ntpFraction >>> 16)) >>> 0;
}

/** The middle 32 bits of the NTP timestamp of a Unix time in milliseconds (the injected clock's value). */
export function ntpMiddle32FromUnixMs(unixMs: number): number {
  const sec = Math.floor(unixMs / 1000);
  const frac16 = Math.floor(((unixMs - sec * 1000) * 65_536) / 1000);
  return ((((sec + NTP_UNIX_OFFSET_SEC) & 0xffff) << 16) | frac16) >>> 0;
}

/** 1/65536 s units to milliseconds. */
export function ntpShortToMs(units: number): number {
  return (units * 1000) / 65_536;
}

/**
 * Round-trip time from a report block, RFC 3550 §6.4.1: RTT = A − LSR − DLSR in 1/65536 s, where
 * A is the arrival time of the report as NTP middle 32 bits (from `ntpMiddle32FromUnixMs` of the
 * receiver's clock, which must be the clock that stamped the SR). Modulo 2^32, so it survives the
 * 18-hour wrap of the middle 32 bits. Undefined when the block has no LSR (no SR received yet) or
 * the result is negative (clocks out of step).
 */
export function roundTripMs(
  block: Pick<RtcpReportBlock, 'lsr' | 'dlsr'>,
  arrival: number,
): number | undefined {
  if (block.lsr === 0) return undefined;
  const units = (arrival - block.lsr - block.dlsr) >>> 0;
  if (units >= 0x8000_0000) return undefined;
  return ntpShortToMs(units);
}
