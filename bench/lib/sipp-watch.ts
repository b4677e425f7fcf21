/**
 * What the SIPp-driven benchmarks share: reading SIPp's `-trace_stat` file as it grows, judging
 * each period, and watching a run (ramp until two bad periods in a row = the knee, or a fixed
 * run to its end), with a wall-clock guard and the SIPp process's CPU sampled.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLK_TCK, procTicks, sleep, waitExit } from '../register/procs.js';
import { num, type Row, rowTime, sippTime } from '../register/sipp.js';

/** Per-second rows of a `-trace_stat` file, read incrementally. */
export class StatTail {
  private pos = 0;
  private buf = '';
  private header: string[] | undefined;
  readonly rows: Row[] = [];
  constructor(private readonly path: string) {}
  poll(): Row[] {
    let data: string;
    try {
      const all = readFileSync(this.path, 'latin1');
      data = all.slice(this.pos);
      this.pos = all.length;
    } catch {
      return [];
    }
    this.buf += data;
    const out: Row[] = [];
    let nl = this.buf.indexOf('\n');
    while (nl >= 0) {
      const cols = this.buf.slice(0, nl).replace(/\r$/, '').split(';');
      this.buf = this.buf.slice(nl + 1);
      nl = this.buf.indexOf('\n');
      if (this.header === undefined) {
        this.header = cols;
        continue;
      }
      const r: Row = {};
      this.header.forEach((h, i) => {
        r[h] = cols[i] ?? '';
      });
      out.push(r);
      this.rows.push(r);
    }
    return out;
  }
}

/** One period (second) of a SIPp run, and what was wrong with it. */
export interface Period {
  t: number;
  target: number;
  rate: number;
  calls: number;
  successful: number;
  failed: number;
  retrans: number;
  rtMs: number;
  bad: string[];
}

/** The share of failed calls a period may have before it counts as bad (register 1 %, proxy 0.1 %). */
export interface PeriodLimits {
  readonly maxFailedShare: number;
}

export function periodOf(r: Row, prevTarget: number | undefined, limits: PeriodLimits): Period {
  // SIPp may print the next period's target (increase applied before the dump) or this one's;
  // targets only grow during a ramp, so the lower one is this period's.
  const tgt = num(r, 'TargetRate');
  const target = prevTarget === undefined ? tgt : Math.min(prevTarget, tgt);
  const calls = num(r, 'OutgoingCall(P)');
  const p: Period = {
    t: Math.round(rowTime(r) * 10) / 10,
    target,
    rate: num(r, 'CallRate(P)'),
    calls,
    successful: num(r, 'SuccessfulCall(P)'),
    failed: num(r, 'FailedCall(P)'),
    retrans: num(r, 'Retransmissions(P)'),
    rtMs: Math.round(sippTime(r['ResponseTime1(P)']) * 10000) / 10,
    bad: [],
  };
  if (target > 0 && p.rate < 0.9 * target) p.bad.push(`rate ${p.rate.toFixed(0)} < 90% of ${target}`);
  if (p.failed > limits.maxFailedShare * Math.max(calls, 1)) p.bad.push(`failed ${p.failed}`);
  if (p.retrans > 0.01 * Math.max(calls, 1)) p.bad.push(`retrans ${p.retrans}`);
  if (p.rtMs > 200) p.bad.push(`rt ${p.rtMs} ms`);
  return p;
}

export interface WatchOptions extends PeriodLimits {
  readonly mode: 'ramp' | 'fixed';
  /** Used as the knee when the ramp was bad from the start (half of it). */
  readonly rate: number;
  /** SIPp's own `-timeout`; the process is killed 10 s past it. */
  readonly guardS: number;
  readonly onPeriod?: (p: Period) => void;
}

export interface WatchResult {
  readonly rows: Row[];
  readonly periods: Period[];
  readonly knee: number | undefined;
  readonly stopReason: 'knee' | 'exit' | 'guard';
  readonly wallS: number;
  /** CPU seconds of the SIPp process (sampled every 100 ms while it ran). */
  readonly sippCpuS: number;
  readonly exitCode: number | null;
}

/** Watches a started SIPp until it exits (or hits the knee, or the guard), reading `csv`. */
export async function watchSipp(child: ChildProcess, csv: string, o: WatchOptions): Promise<WatchResult> {
  const t0 = performance.now();
  const tail = new StatTail(csv);
  const periods: Period[] = [];
  let knee: number | undefined;
  let stopReason: WatchResult['stopReason'] = 'exit';
  let prevTarget: number | undefined;
  let badStreak = 0;
  let sippTicks = 0;
  let guard = t0 + (o.guardS + 10) * 1000;
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  while (!exited()) {
    await sleep(100);
    if (child.pid !== undefined) sippTicks = Math.max(sippTicks, procTicks(child.pid));
    if (performance.now() > guard) {
      if (stopReason === 'exit') stopReason = 'guard';
      child.kill('SIGKILL');
      break;
    }
    if (o.mode !== 'ramp' || knee !== undefined) continue;
    for (const r of tail.poll()) {
      if (rowTime(r) < 0.5) {
        prevTarget = num(r, 'TargetRate'); // the row written at start
        continue;
      }
      const p = periodOf(r, prevTarget, o);
      prevTarget = num(r, 'TargetRate');
      periods.push(p);
      o.onPeriod?.(p);
      badStreak = p.bad.length > 0 ? badStreak + 1 : 0;
      if (badStreak >= 2) {
        const good = periods.slice(0, -2).filter((x) => x.bad.length === 0);
        knee = good.length > 0 ? good[good.length - 1]!.rate : o.rate / 2;
        stopReason = 'knee';
        child.kill('SIGUSR1'); // soft stop: no new calls, let the running ones end
        guard = Math.min(guard, performance.now() + 6000);
        break;
      }
    }
  }
  await waitExit(child, 5000);
  const wallS = (performance.now() - t0) / 1000;
  tail.poll();
  return {
    rows: tail.rows,
    periods,
    knee,
    stopReason,
    wallS,
    sippCpuS: sippTicks / CLK_TCK,
    exitCode: child.exitCode,
  };
}
