/**
 * SIPp for the call benchmarks (bench/proxy, bench/calls-media): a UAS (sipp/call-uas.xml) that
 * answers the calls, and a UAC (sipp/call-uac.xml) that places them through the proxy under test,
 * reading SIPp's per-second statistics file (`-trace_stat -fd 1`) while it runs. By default both
 * run on loopback (UAC 127.0.0.1, UAS 127.0.0.3, bench/proxy); each can instead run inside a
 * network namespace on another address (`ip netns exec <ns> sipp …`, which execs SIPp, so the
 * child's PID is SIPp's own; bench/calls-media).
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
import { LO, sleep, stopChild, waitExit } from '../register/procs.js';
import { type Row, SIPP } from '../register/sipp.js';
import { type Period, StatTail, type WatchResult, watchSipp } from './sipp-watch.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The callee's address on loopback: neither a domain nor an address of the proxy (a foreign IP). */
export const UAS_ADDR = '127.0.0.3';

/** Where a SIPp runs: a network namespace (default: this one) and its address there. */
export interface SippPlace {
  readonly ns?: string;
  readonly addr: string;
}

/** Ports for SIPp inside a namespace the bench made (nothing else listens there): a fresh pair per process. */
let nsPortNext = 0;
async function portsAt(place: SippPlace): Promise<[number, number]> {
  if (place.ns === undefined) return [await freeUdpPortOn(place.addr), await freeUdpPortOn(place.addr)];
  nsPortNext = (nsPortNext + 2) % 4000;
  return [5100 + nsPortNext, 5101 + nsPortNext];
}
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

function spawnSipp(place: SippPlace, argv: string[], dir: string, outName: string): ChildProcess {
  const out = openSync(join(dir, outName), 'w');
  const [cmd, args] =
    place.ns === undefined ? [SIPP, argv] : ['ip', ['netns', 'exec', place.ns, SIPP, ...argv]];
  const child = spawn(cmd, args, { cwd: dir, stdio: ['ignore', out, out] });
  closeSync(out);
  liveSipps.add(child);
  child.once('exit', () => liveSipps.delete(child));
  return child;
}

// ---------------------------------------------------------------- UAS
export interface Uas {
  readonly addr: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Soft stop (SIGUSR1), SIGKILL after a few seconds; returns its last statistics row. */
  stop(): Promise<Row | undefined>;
}

export async function startUas(
  dir: string,
  tag: string,
  guardS: number,
  place: SippPlace = { addr: UAS_ADDR },
): Promise<Uas> {
  const [port, mediaPort] = await portsAt(place);
  const csv = join(dir, `${tag}-uas.csv`);
  const argv = [
    '-sf',
    join(HERE, 'sipp', 'call-uas.xml'),
    '-i',
    place.addr,
    '-p',
    String(port),
    '-mi',
    place.addr,
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
  const child = spawnSipp(place, argv, dir, `${tag}-uas.out`);
  // SIPp binds its socket within a few ms; give it a moment so the first INVITE finds it
  await sleep(300);
  if (child.exitCode !== null || child.signalCode !== null)
    throw new Error(`SIPp UAS exited at start (see ${dir}/${tag}-uas.out)`);
  return {
    addr: place.addr,
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
export type { Period } from './sipp-watch.js';

export interface UacSetup {
  /** The proxy's inside port (every datagram of the UAC goes there). */
  readonly proxyPort: number;
  /** The proxy's inside address (default 127.0.0.1). */
  readonly proxyAddr?: string;
  /** Where the calls are for: `sip:service@<uasAddr>:<uasPort>`. */
  readonly uasPort: number;
  /** Default 127.0.0.3. */
  readonly uasAddr?: string;
  /** Where the UAC runs (default 127.0.0.1 here). */
  readonly place?: SippPlace;
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
  const place = s.place ?? { addr: LO };
  const [port, mediaPort] = await portsAt(place);
  const argv = [
    `${s.proxyAddr ?? LO}:${s.proxyPort}`,
    '-sf',
    join(HERE, 'sipp', 'call-uac.xml'),
    '-s',
    'service',
    '-key',
    'uas_target',
    `${s.uasAddr ?? UAS_ADDR}:${s.uasPort}`,
    '-i',
    place.addr,
    '-p',
    String(port),
    '-mi',
    place.addr,
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
  const child = spawnSipp(place, argv, s.dir, `${s.tag}.out`);
  const watched = await watchSipp(child, csv, { ...o, maxFailedShare: 0.001 });
  const prefix = place.ns === undefined ? [] : ['ip', 'netns', 'exec', place.ns];
  return { argv: [...prefix, SIPP, ...argv], ...watched, errorFile };
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
