/**
 * SIPp for bench/proxy: a UAS (call-uas.xml, on 127.0.0.3) that answers the calls, and a UAC
 * (call-uac.xml, on 127.0.0.1) that places them through the proxy under test, reading SIPp's
 * per-second statistics file (`-trace_stat -fd 1`) while it runs.
 *
 *  - ramp:  `-r start -rate_increase step -rate_interval 1s`; after two consecutive bad 1-s
 *           periods (calls generated < 90 % of the target, failed calls > 0.1 % of the period's
 *           calls, retransmissions > 1 %, or mean INVITE→200 time > 200 ms) SIPp is asked to
 *           stop (SIGUSR1: no new calls, running ones end) and the knee is the call rate achieved
 *           in the last good period.
 *  - fixed: `-r R -m total`; judged by the caller on the final counters.
 *
 * Time parsing, counters and the generation-time interpolation come from bench/register/sipp.ts;
 * process and CPU helpers from bench/register/procs.ts. Every SIPp started here is signalled by
 * its PID only, and killed past a wall-clock guard.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLK_TCK, LO, procTicks, sleep, stopChild, waitExit } from '../register/procs.js';
import { type Period, StatTail, type WatchResult, watchSipp } from '../lib/sipp-watch.js';
import { num, type Row, rowTime, SIPP, sippTime } from '../register/sipp.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The callee's address: neither a domain nor an address of the proxy under test (a foreign IP). */
export const UAS_ADDR = '127.0.0.3';
/** SIPp's default 64 KB socket buffers drop bursts above ~10,000 msg/s. */
const SIPP_BUFFER = 4 * 1024 * 1024;

/** SIPp processes alive right now (stopped by PID on abort). */
export const liveSipps = new Set<ChildProcess>();

/** A UDP port on `addr` that was free a moment ago. */
export function freeUdpPortOn(addr: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, addr, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function spawnSipp(argv: string[], dir: string, outName: string): ChildProcess {
  const out = openSync(join(dir, outName), 'w');
  const child = spawn(SIPP, argv, { cwd: dir, stdio: ['ignore', out, out] });
  closeSync(out);
  liveSipps.add(child);
  child.once('exit', () => liveSipps.delete(child));
  return child;
}

// ---------------------------------------------------------------- UAS
export interface Uas {
  readonly port: number;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Soft stop (SIGUSR1), SIGKILL after a few seconds; returns its last statistics row. */
  stop(): Promise<Row | undefined>;
}

export async function startUas(dir: string, tag: string, guardS: number): Promise<Uas> {
  const port = await freeUdpPortOn(UAS_ADDR);
  const mediaPort = await freeUdpPortOn(UAS_ADDR);
  const csv = join(dir, `${tag}-uas.csv`);
  const argv = [
    '-sf',
    join(HERE, 'sipp', 'call-uas.xml'),
    '-i',
    UAS_ADDR,
    '-p',
    String(port),
    '-mi',
    UAS_ADDR,
    '-mp',
    String(mediaPort),
    '-nostdin',
    '-buff_size',
    String(SIPP_BUFFER),
    '-timeout',
    `${Math.ceil(guardS)}s`,
    '-trace_stat',
    '-fd',
    '1',
    '-stf',
    csv,
    '-trace_err',
    '-error_file',
    join(dir, `${tag}-uas_errors.log`),
    '-max_log_size',
    '2000000',
  ];
  const child = spawnSipp(argv, dir, `${tag}-uas.out`);
  // SIPp binds its socket within a few ms; give it a moment so the first INVITE finds it
  await sleep(300);
  if (child.exitCode !== null || child.signalCode !== null)
    throw new Error(`SIPp UAS exited at start (see ${dir}/${tag}-uas.out)`);
  return {
    port,
    child,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(child.pid!, 'SIGUSR1');
        } catch {}
        if (!(await waitExit(child, 4000))) await stopChild(child, 2000, 'SIGKILL');
      }
      const tail = new StatTail(csv);
      tail.poll();
      return tail.rows[tail.rows.length - 1];
    },
  };
}

// ---------------------------------------------------------------- UAC
export type { Period } from '../lib/sipp-watch.js';

export interface UacSetup {
  /** The proxy's inside port on 127.0.0.1 (every datagram of the UAC goes there). */
  readonly proxyPort: number;
  /** Where the calls are for: `sip:service@127.0.0.3:<uasPort>`. */
  readonly uasPort: number;
  readonly dir: string;
  readonly tag: string;
}

export interface UacOptions {
  readonly mode: 'ramp' | 'fixed';
  readonly rate: number;
  /** ramp: rate increase per second and the rate at which SIPp stops. */
  readonly step?: number;
  readonly maxRate?: number;
  /** fixed: number of calls. */
  readonly total?: number;
  /** Wall-clock limit; SIPp quits itself past it (-timeout) and is killed 10 s later. */
  readonly guardS: number;
  readonly onPeriod?: (p: Period) => void;
}

export interface UacResult extends WatchResult {
  readonly argv: string[];
  readonly errorFile: string;
}

export async function runUac(s: UacSetup, o: UacOptions): Promise<UacResult> {
  const csv = join(s.dir, `${s.tag}.csv`);
  const errorFile = join(s.dir, `${s.tag}_errors.log`);
  const mediaPort = await freeUdpPortOn(LO);
  const argv = [
    `${LO}:${s.proxyPort}`,
    '-sf',
    join(HERE, 'sipp', 'call-uac.xml'),
    '-s',
    'service',
    '-key',
    'uas_target',
    `${UAS_ADDR}:${s.uasPort}`,
    '-i',
    LO,
    '-p',
    String(await freeUdpPortOn(LO)),
    '-mi',
    LO,
    '-mp',
    String(mediaPort),
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
    errorFile,
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
  const child = spawnSipp(argv, s.dir, `${s.tag}.out`);
  const watched = await watchSipp(child, csv, { ...o, maxFailedShare: 0.001 });
  return { argv: [SIPP, ...argv], ...watched, errorFile };
}

/**
 * The first final response that made SIPp abort a call (from its `-trace_err` file), e.g.
 * `501 Not Implemented`, or the first line of the file; undefined when it is empty.
 */
export function firstError(errorFile: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(errorFile, 'latin1');
  } catch {
    return undefined;
  }
  const unexpected = /while expecting '([^']*)'[^']*received 'SIP\/2\.0 (\d{3} [^\r\n]*)/.exec(text);
  if (unexpected) return `${unexpected[2]!.trim()} while expecting ${unexpected[1]}`;
  const status = /SIP\/2\.0 (\d{3} [^\r\n]*)/.exec(text);
  if (status) return status[1]!.trim();
  const line = text.split('\n').find((l) => l.trim() !== '' && !/^-+\s/.test(l));
  return line?.trim().slice(0, 200);
}
