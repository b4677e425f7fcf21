/**
 * Per-stream call quality: combines a stream's RTP pinhole counters (sampled from the driver) with
 * the RTCP its parties send (the relay's `onRtcp` tap), and says, per direction, packets, loss,
 * jitter, an R-factor/MOS estimate, and whether the call has one-way audio. Pure: time comes in as
 * values, nothing here touches a socket or a timer.
 *
 * Directions follow the driver's counters: `aToB` is what a's party sends and b's party receives.
 * A report block sent by side a's party describes what a receives, so it is about `bToA`.
 *
 * Round trip, seen from the middle: the relay notes when each SR passes (its own clock). When the
 * other party's report block names that SR (LSR), the leg from the relay to that party and back
 * is `arrival − SR passage − DLSR`, all in the relay's clock, so the parties' clocks need not be
 * synchronized. The call's RTT is the sum of both legs; while only one is known, that leg alone
 * (a lower bound) feeds the estimate.
 */
import type { PinholeCounters } from '../types.js';
import { CODECS, type CodecName, type CodecProfile, estimateQuality, jitterToMs } from './emodel.js';
import { ntpMiddle32, ntpShortToMs, parseRtcp, type RtcpParseError, type RtcpReportBlock } from './rtcp.js';

export type Direction = 'aToB' | 'bToA';

/** A side of the stream, as the driver names it (the relay's `onRtcp` passes the same). */
export type StreamSide = 'a' | 'b';

export interface StreamQualityOptions {
  readonly codec: CodecName | CodecProfile;
  /** One-way audio: one direction silent while the other flows, for more than this many seconds. */
  readonly oneWayAfterSec: number;
  /** When the call went live (answered), ms; silence is counted from here until packets move. */
  readonly startedAtMs: number;
}

/** The receiving party's latest view of one direction, from its RTCP. */
export interface ReceiverReport {
  readonly atMs: number;
  /** Loss since the party's previous report, percent (fraction lost / 256). */
  readonly lossPercent: number;
  readonly cumulativeLost: number;
  readonly jitterMs: number;
}

export interface DirectionQuality {
  readonly packets: number;
  readonly bytes: number;
  /** Absent until the receiving party sent a report block. */
  readonly report?: ReceiverReport;
  /** E-model estimate; absent until there is a report. */
  readonly r?: number;
  readonly mos?: number;
}

export interface StreamQuality {
  readonly aToB: DirectionQuality;
  readonly bToA: DirectionQuality;
  /** Packets dropped by strict source (strangers), as the driver counts them. */
  readonly dropped: number;
  /** Relay ↔ party round trip per side, ms. */
  readonly legRttMs: { readonly a?: number; readonly b?: number };
  /** Both legs added, when both are known. */
  readonly rttMs?: number;
  readonly oneWay: boolean;
  /** With `oneWay`: the direction that carries nothing. */
  readonly silentDirection?: Direction;
}

/** SR passages remembered per side (a party sends one every ~5 s; reports name the latest). */
const SR_HISTORY = 8;

interface SrPassage {
  readonly key: number;
  readonly atMs: number;
}

export class StreamQualityTracker {
  private readonly codec: CodecProfile;
  private readonly oneWayAfterMs: number;
  private readonly startedAtMs: number;
  private counters: PinholeCounters = {
    aToB: { packets: 0, bytes: 0 },
    bToA: { packets: 0, bytes: 0 },
    dropped: 0,
  };
  private readonly lastMovedMs: Record<Direction, number | undefined> = { aToB: undefined, bToA: undefined };
  private readonly reports: Record<Direction, ReceiverReport | undefined> = {
    aToB: undefined,
    bToA: undefined,
  };
  private readonly srs: Record<StreamSide, SrPassage[]> = { a: [], b: [] };
  private readonly legRtt: Record<StreamSide, number | undefined> = { a: undefined, b: undefined };

  constructor(options: StreamQualityOptions) {
    this.codec = typeof options.codec === 'string' ? CODECS[options.codec] : options.codec;
    this.oneWayAfterMs = options.oneWayAfterSec * 1000;
    this.startedAtMs = options.startedAtMs;
  }

  /** The stream's RTP pinhole counters as the driver reports them now (cumulative). */
  observeCounters(nowMs: number, counters: PinholeCounters): void {
    if (counters.aToB.packets !== this.counters.aToB.packets) this.lastMovedMs.aToB = nowMs;
    if (counters.bToA.packets !== this.counters.bToA.packets) this.lastMovedMs.bToA = nowMs;
    this.counters = counters;
  }

  /**
   * One RTCP datagram forwarded on the stream's RTCP pinhole; `side` is the side whose party sent
   * it. Returns the parse error for a datagram that is not RTCP (nothing is recorded from it).
   */
  observeRtcp(nowMs: number, side: StreamSide, packet: Uint8Array): RtcpParseError | undefined {
    const parsed = parseRtcp(packet);
    if (!parsed.ok) return parsed.error;
    const other: StreamSide = side === 'a' ? 'b' : 'a';
    const about: Direction = side === 'a' ? 'bToA' : 'aToB';
    for (const p of parsed.value) {
      if (p.type === 'sr') {
        const list = this.srs[side];
        list.push({ key: ntpMiddle32(p.ntpSeconds, p.ntpFraction), atMs: nowMs });
        if (list.length > SR_HISTORY) list.shift();
      }
      if (p.type !== 'sr' && p.type !== 'rr') continue;
      const block = p.reports[0];
      if (block === undefined) continue;
      this.reports[about] = this.receiverReport(nowMs, block);
      const leg = this.legRoundTrip(nowMs, block, this.srs[other]);
      if (leg !== undefined) this.legRtt[side] = leg;
    }
    return undefined;
  }

  snapshot(nowMs: number): StreamQuality {
    const legA = this.legRtt.a;
    const legB = this.legRtt.b;
    const rttMs = legA !== undefined && legB !== undefined ? legA + legB : undefined;
    const rttForEstimate = rttMs ?? legA ?? legB ?? 0;
    const silentA = this.silentFor(nowMs, 'aToB') > this.oneWayAfterMs;
    const silentB = this.silentFor(nowMs, 'bToA') > this.oneWayAfterMs;
    const oneWay = silentA !== silentB;
    const legRttMs: { a?: number; b?: number } = {};
    if (legA !== undefined) legRttMs.a = legA;
    if (legB !== undefined) legRttMs.b = legB;
    return {
      aToB: this.direction('aToB', rttForEstimate),
      bToA: this.direction('bToA', rttForEstimate),
      dropped: this.counters.dropped,
      legRttMs,
      ...(rttMs === undefined ? {} : { rttMs }),
      oneWay,
      ...(oneWay ? { silentDirection: silentA ? ('aToB' as const) : ('bToA' as const) } : {}),
    };
  }

  private silentFor(nowMs: number, d: Direction): number {
    return nowMs - (this.lastMovedMs[d] ?? this.startedAtMs);
  }

  private direction(d: Direction, rttMs: number): DirectionQuality {
    const { packets, bytes } = this.counters[d];
    const report = this.reports[d];
    if (report === undefined) return { packets, bytes };
    const q = estimateQuality({
      lossPercent: report.lossPercent,
      jitterMs: report.jitterMs,
      rttMs,
      codec: this.codec,
    });
    return { packets, bytes, report, r: q.r, mos: q.mos };
  }

  private receiverReport(nowMs: number, block: RtcpReportBlock): ReceiverReport {
    return {
      atMs: nowMs,
      lossPercent: (block.fractionLost / 256) * 100,
      cumulativeLost: block.cumulativeLost,
      jitterMs: jitterToMs(block.jitter, this.codec.clockRate),
    };
  }

  /** Relay ↔ reporting party round trip, from the SR (sent by the other party) the block names. */
  private legRoundTrip(nowMs: number, block: RtcpReportBlock, srs: readonly SrPassage[]): number | undefined {
    if (block.lsr === 0) return undefined;
    const sr = srs.findLast((s) => s.key === block.lsr);
    if (sr === undefined) return undefined;
    const ms = nowMs - sr.atMs - ntpShortToMs(block.dlsr);
    return ms >= 0 ? ms : undefined;
  }
}
