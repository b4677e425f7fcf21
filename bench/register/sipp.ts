/**
 * Drives SIPp (UAC, register-digest.xml) against one server and reads its per-second
 * statistics file (`-trace_stat -fd 1`) while it runs.
 *
 *  - ramp:  `-r start -rate_increase step -rate_interval 1s`; after two consecutive bad 1-s
 *           periods (calls generated < 90 % of the target, retransmissions or failures > 1 % of
 *           the period's calls, or mean response time > 200 ms) SIPp is asked to stop (SIGUSR1)
 *           and the knee is the call rate achieved in the last good period.
 *  - fixed: `-r R -m R*seconds`; judged on the final counters.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLK_TCK, LO, procTicks, sleep, waitExit } from './procs.js';

export const SIPP = '/usr/bin/sipp';
/** SIPp's default 64 KB socket buffers drop bursts above ~10,000 msg/s. */
const SIPP_BUFFER = 4 * 1024 * 1024;

export type Row = Record<string, string>;

export interface SippSetup {
  readonly scenario: string;
  readonly usersCsv: string;
  readonly realm: string;
  readonly serverPort: number;
  readonly localPort: number;
  readonly dir: string;
  readonly tag: string;
}

export interface Period {
  t: number;
  target: number;
  rate: number;
  calls: number;
  retrans: number;
  failed: number;
  rtMs: number;
  bad: string[];
}

export interface SippResult {
  readonly argv: string[];
  readonly rows: Row[];
  readonly periods: Period[];
  readonly knee: number | undefined;
  readonly stopReason: 'knee' | 'exit' | 'guard';
  readonly wallS: number;
  /** CPU seconds of the SIPp process (sampled every 100 ms while it ran). */
  readonly sippCpuS: number;
  readonly exitCode: number | null;
}

/** SIPp time `HH:MM:SS:uuuuuu` (or `HH:MM:SS`) in seconds. */
export function sippTime(v: string | undefined): number {
  const p = (v ?? '').split(':').map(Number);
  if (p.some((x) => !Number.isFinite(x))) return 0;
  if (p.length === 4) return p[0]! * 3600 + p[1]! * 60 + p[2]! + p[3]! / 1e6;
  if (p.length === 3) return p[0]! * 3600 + p[1]! * 60 + p[2]!;
  return 0;
}

export const num = (r: Row | undefined, k: string): number => {
  const n = Number(r?.[k] ?? 0);
  return Number.isFinite(n) ? n : 0;
};

/** Seconds since SIPp started for one row (CurrentTime/StartTime end with epoch.usec). */
export function rowTime(r: Row): number {
  const epoch = (v: string | undefined) => Number((v ?? '').split('\t')[2]);
  const t = epoch(r['CurrentTime']) - epoch(r['StartTime']);
  return Number.isFinite(t) ? t : sippTime(r['ElapsedTime(C)']);
}

/** Time at which SIPp had created `total` calls, interpolated between rows. */
export function generationTime(rows: readonly Row[], total: number): number | undefined {
  let pt = 0;
  let pc = 0;
  for (const r of rows) {
    const t = rowTime(r);
    const c = num(r, 'TotalCallCreated');
    if (c >= total) return c === pc || t <= pt ? t : pt + ((total - pc) * (t - pt)) / (c - pc);
    pt = t;
    pc = c;
  }
  return undefined;
}

class StatTail {
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

function periodOf(r: Row, prevTarget: number | undefined): Period {
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
    retrans: num(r, 'Retransmissions(P)'),
    failed: num(r, 'FailedCall(P)'),
    rtMs: Math.round(sippTime(r['ResponseTime1(P)']) * 10000) / 10,
    bad: [],
  };
  if (target > 0 && p.rate < 0.9 * target) p.bad.push(`rate ${p.rate.toFixed(0)} < 90% of ${target}`);
  if (p.retrans > 0.01 * Math.max(calls, 1)) p.bad.push(`retrans ${p.retrans}`);
  if (p.failed > 0.01 * Math.max(calls, 1)) p.bad.push(`failed ${p.failed}`);
  if (p.rtMs > 200) p.bad.push(`rt ${p.rtMs} ms`);
  return p;
}

export interface RunOptions {
  readonly mode: 'ramp' | 'fixed';
  readonly rate: number;
  /** ramp: rate increase per second and the rate at which SIPp stops. */
  readonly step?: number;
  readonly maxRate?: number;
  /** fixed: number of registrations. */
  readonly total?: number;
  /** Wall-clock limit; SIPp is killed past it. */
  readonly guardS: number;
  readonly onPeriod?: (p: Period) => void;
}

export async function runSipp(s: SippSetup, o: RunOptions): Promise<SippResult> {
  const csv = join(s.dir, `${s.tag}.csv`);
  const argv = [
    `${LO}:${s.serverPort}`,
    '-sf',
    s.scenario,
    '-s',
    s.realm,
    // digest-uri = the Request-URI (sip:<domain>); SIPp's default is sip:<remote_ip>:<remote_port>,
    // which a registrar that checks the digest-uri (RFC 2617 §3.2.2.5, the agent) rejects with 400
    '-auth_uri',
    s.realm,
    '-inf',
    s.usersCsv,
    '-i',
    LO,
    '-p',
    String(s.localPort),
    '-r',
    String(o.rate),
    '-nostdin',
    '-buff_size',
    String(SIPP_BUFFER),
    '-recv_timeout',
    '5000',
    '-trace_stat',
    '-fd',
    '1',
    '-stf',
    csv,
    '-trace_err',
    '-error_file',
    join(s.dir, `${s.tag}_errors.log`),
    '-max_log_size',
    '2000000',
  ];
  if (o.mode === 'ramp') {
    argv.push('-rate_increase', String(o.step), '-rate_interval', '1s', '-rate_max', String(o.maxRate));
    argv.push('-l', '20000', '-timeout', `${o.guardS}s`);
  } else {
    const limit = Math.min(Math.max(2000, 2 * o.rate), 20_000);
    argv.push('-m', String(o.total), '-l', String(limit), '-timeout', `${o.guardS}s`);
  }
  const out = openSync(join(s.dir, `${s.tag}.out`), 'w');
  const child: ChildProcess = spawn(SIPP, argv, { cwd: s.dir, stdio: ['ignore', out, out] });
  closeSync(out);
  const t0 = performance.now();
  const tail = new StatTail(csv);
  const periods: Period[] = [];
  let knee: number | undefined;
  let stopReason: SippResult['stopReason'] = 'exit';
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
      const p = periodOf(r, prevTarget);
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
    argv: [SIPP, ...argv],
    rows: tail.rows,
    periods,
    knee,
    stopReason,
    wallS,
    sippCpuS: sippTicks / CLK_TCK,
    exitCode: child.exitCode,
  };
}
