import type { StatsRange } from '../../lib/route-links.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** How each range is asked for: its span and the bucket of one chart point. */
export const RANGE_SPECS: Record<StatsRange, { label: string; spanMs: number; bucket: 'hour' | 'day' }> = {
  '24h': { label: '24 hours', spanMs: DAY, bucket: 'hour' },
  '7d': { label: '7 days', spanMs: 7 * DAY, bucket: 'hour' },
  '30d': { label: '30 days', spanMs: 30 * DAY, bucket: 'day' },
};

export function isStatsRange(value: string | null | undefined): value is StatsRange {
  return value === '24h' || value === '7d' || value === '30d';
}

/**
 * The query window of a range at `now`: `to` is the end of the current bucket (hour or UTC day),
 * `from` one span earlier, so the current partial hour is included and buckets line up.
 */
export function windowOf(range: StatsRange, now: number): { from: number; to: number; stepMs: number } {
  const spec = RANGE_SPECS[range];
  const stepMs = spec.bucket === 'hour' ? HOUR : DAY;
  const to = Math.floor(now / stepMs) * stepMs + stepMs;
  return { from: to - spec.spanMs, to, stepMs };
}

export interface StatsPointWire {
  readonly at: string;
  readonly calls: number;
  readonly answered: number;
  readonly answeredSec: number;
  readonly peakConcurrent: number;
  readonly failedAuths: number;
  readonly oneWayCalls: number;
  readonly asr: number | null;
  readonly acdSec: number | null;
}

/** Columns for the charts: one slot per bucket of the window (buckets without data count 0). */
export interface StatsColumns {
  /** Bucket starts, seconds since the epoch (uPlot's x unit). */
  readonly x: number[];
  readonly calls: number[];
  readonly answered: number[];
  readonly asrPercent: (number | null)[];
  readonly acdSec: (number | null)[];
  readonly peakConcurrent: number[];
  readonly failedAuths: number[];
  readonly oneWayCalls: number[];
}

export function columnsOf(
  points: readonly StatsPointWire[],
  w: { from: number; to: number; stepMs: number },
): StatsColumns {
  const byAt = new Map(points.map((p) => [Math.floor(Date.parse(p.at) / w.stepMs) * w.stepMs, p]));
  const cols: StatsColumns = {
    x: [],
    calls: [],
    answered: [],
    asrPercent: [],
    acdSec: [],
    peakConcurrent: [],
    failedAuths: [],
    oneWayCalls: [],
  };
  // Bounded: at most 31 × 24 slots (the server refuses longer hourly ranges).
  for (let t = w.from, n = 0; t < w.to && n < 1000; t += w.stepMs, n++) {
    const p = byAt.get(t);
    cols.x.push(t / 1000);
    cols.calls.push(p?.calls ?? 0);
    cols.answered.push(p?.answered ?? 0);
    cols.asrPercent.push(p?.asr == null ? null : Math.round(p.asr * 1000) / 10);
    cols.acdSec.push(p?.acdSec == null ? null : Math.round(p.acdSec));
    cols.peakConcurrent.push(p?.peakConcurrent ?? 0);
    cols.failedAuths.push(p?.failedAuths ?? 0);
    cols.oneWayCalls.push(p?.oneWayCalls ?? 0);
  }
  return cols;
}

/** Totals over the window; ASR and ACD over all its calls. */
export function totalsOf(points: readonly StatsPointWire[]) {
  const sum = (k: 'calls' | 'answered' | 'answeredSec' | 'failedAuths' | 'oneWayCalls') =>
    points.reduce((a, p) => a + p[k], 0);
  const calls = sum('calls');
  const answered = sum('answered');
  return {
    calls,
    answered,
    asr: calls === 0 ? null : answered / calls,
    acdSec: answered === 0 ? null : sum('answeredSec') / answered,
    peakConcurrent: points.reduce((a, p) => Math.max(a, p.peakConcurrent), 0),
    failedAuths: sum('failedAuths'),
    oneWayCalls: sum('oneWayCalls'),
  };
}

export function formatDuration(sec: number | null): string {
  if (sec === null) return '—';
  const s = Math.round(sec);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

export function formatPercent(ratio: number | null): string {
  return ratio === null ? '—' : `${(ratio * 100).toFixed(1)} %`;
}
