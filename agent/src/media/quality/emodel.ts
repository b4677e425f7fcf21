/**
 * Call quality estimate: the E-model (ITU-T G.107) reduced to the terms a media relay can measure
 * — packet loss, jitter, round-trip delay and codec — as common VoIP monitoring practice does
 * (Cole & Rosenbluth, "Voice over IP performance monitoring", ACM CCR 2001). Pure.
 *
 *   R = R0 − Is − Id − Ie,eff + A, with every other G.107 parameter at its default:
 *   R0 − Is = 93.2 (G.107: its Table 3 default values give R = 93.2), A = 0.
 *   Id (delay impairment), Cole & Rosenbluth's fit of G.107's Idd + Idte for default echo:
 *     Id = 0.024·d + 0.11·(d − 177.3)·H(d − 177.3), d the one-way mouth-to-ear delay in ms.
 *   Ie,eff (G.107 eq. 7-29): Ie + (95 − Ie)·Ppl / (Ppl / BurstR + Bpl), Ppl the loss in %.
 *   MOS (G.107 Annex B): 1 for R ≤ 0, 4.5 for R ≥ 100, else 1 + 0.035R + 7·10⁻⁶·R(R − 60)(100 − R)
 *   (held at 1 where that dips below, 0 < R < 6.5).
 *
 * One-way delay from what RTCP gives: d = RTT / 2 + 2 × jitter (a jitter buffer sized to twice
 * the jitter). Codec and packetization delay are not added: they are the same for every call with
 * a codec and the estimate is for comparing calls and spotting bad ones, not for planning.
 */

export type CodecName = 'PCMU' | 'PCMA' | 'G722' | 'opus' | 'G729';

export interface CodecProfile {
  /** Equipment impairment factor. */
  readonly ie: number;
  /** Packet-loss robustness factor. */
  readonly bpl: number;
  /** RTP clock rate (jitter in RTCP is in these units). */
  readonly clockRate: number;
}

/**
 * Ie and Bpl per codec.
 * - PCMU/PCMA: ITU-T G.113 (11/2007) Appendix I, Table I.1 (Ie = 0) and Table I.3 (G.711 with
 *   the packet-loss concealment of G.711 Appendix I, random loss: Bpl = 25.1).
 * - G729: G.113 Appendix I, Tables I.1 and I.3 for G.729A + VAD (Ie = 11, Bpl = 19.0), what
 *   deployed G.729 phones run.
 * - G722 and opus: G.113's narrowband tables have no entry (its wideband values, Amendment 1
 *   Appendix IV, are on G.107.1's 129-point scale and do not mix with this one). Planning values
 *   of this project, to be replaced when a source is cited: on the narrowband scale both are rated
 *   like G.711 (Ie = 0, they are at least as good), and both conceal loss (G.722 Appendix III/IV
 *   PLC, Opus's built-in PLC), so Bpl as G.711 with PLC (25.1).
 * Clock rates: RFC 3551 §6 (G.722 runs an 8000 Hz RTP clock though it samples at 16 kHz) and
 * RFC 7587 §4.1 (Opus: 48000 Hz always).
 */
export const CODECS: Readonly<Record<CodecName, CodecProfile>> = {
  PCMU: { ie: 0, bpl: 25.1, clockRate: 8000 },
  PCMA: { ie: 0, bpl: 25.1, clockRate: 8000 },
  G722: { ie: 0, bpl: 25.1, clockRate: 8000 },
  opus: { ie: 0, bpl: 25.1, clockRate: 48_000 },
  G729: { ie: 11, bpl: 19.0, clockRate: 8000 },
};

/** R with every impairment at zero (G.107 defaults). */
export const R_DEFAULT = 93.2;

/** The profile for an SDP rtpmap encoding name (case-insensitive), or undefined if not in the table. */
export function codecProfile(encodingName: string): CodecProfile | undefined {
  const name = encodingName.toLowerCase();
  for (const key of Object.keys(CODECS) as CodecName[]) {
    if (key.toLowerCase() === name) return CODECS[key];
  }
  return undefined;
}

/** RTCP interarrival jitter (RTP timestamp units) in milliseconds. */
export function jitterToMs(jitterUnits: number, clockRate: number): number {
  return (jitterUnits * 1000) / clockRate;
}

export interface EModelInput {
  /** Packet loss in percent (0–100). */
  readonly lossPercent: number;
  /** Interarrival jitter in ms (see `jitterToMs`). */
  readonly jitterMs: number;
  /** Round-trip delay in ms. */
  readonly rttMs: number;
  readonly codec: CodecName | CodecProfile;
  /** Burst ratio (G.107 §7.2.3): 1 for random loss (default), > 1 for bursty loss. */
  readonly burstRatio?: number;
}

/** Delay impairment Id for a one-way delay in ms. */
export function delayImpairment(oneWayMs: number): number {
  const d = Math.max(0, oneWayMs);
  return 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
}

/** Effective equipment impairment Ie,eff for a loss in percent. */
export function effectiveEquipmentImpairment(
  codec: CodecProfile,
  lossPercent: number,
  burstRatio = 1,
): number {
  const ppl = Math.min(100, Math.max(0, lossPercent));
  if (ppl === 0) return codec.ie;
  return codec.ie + ((95 - codec.ie) * ppl) / (ppl / burstRatio + codec.bpl);
}

/** The transmission rating R (clamped to 0–100). */
export function rFactor(input: EModelInput): number {
  const codec = typeof input.codec === 'string' ? CODECS[input.codec] : input.codec;
  const oneWayMs = Math.max(0, input.rttMs) / 2 + 2 * Math.max(0, input.jitterMs);
  const r =
    R_DEFAULT -
    delayImpairment(oneWayMs) -
    effectiveEquipmentImpairment(codec, input.lossPercent, input.burstRatio ?? 1);
  return Math.min(100, Math.max(0, r));
}

/**
 * MOS-CQE from R (G.107 Annex B). The cubic dips below 1 for 0 < R < 6.5 (its slope at 0 is
 * −0.007); the MOS scale starts at 1, so it is held there, which keeps MOS rising with R.
 */
export function mosFromR(r: number): number {
  if (!(r > 0)) return 1;
  if (r >= 100) return 4.5;
  return Math.max(1, 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r));
}

export interface QualityEstimate {
  readonly r: number;
  readonly mos: number;
}

export function estimateQuality(input: EModelInput): QualityEstimate {
  const r = rFactor(input);
  return { r, mos: mosFromR(r) };
}
