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
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { LO } from './procs.js';
import { type Period, type WatchResult, watchSipp } from '../lib/sipp-watch.js';

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

export type { Period } from '../lib/sipp-watch.js';

export interface SippResult extends WatchResult {
  readonly argv: string[];
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
  const watched = await watchSipp(child, csv, { ...o, maxFailedShare: 0.01 });
  return { argv: [SIPP, ...argv], ...watched };
}
