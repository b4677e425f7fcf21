import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';

/** Path of the `sipp` binary, or '' when it is not installed. */
export const SIPP = spawnSync('sh', ['-c', 'command -v sipp']).stdout?.toString().trim() ?? '';
export const haveSipp = SIPP !== '';
export const SKIP_SUFFIX = haveSipp ? '' : ' (skipped: sipp not installed; apt-get install sip-tester)';

/** A free local TCP port on `host` (SIPp has no "port 0"). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** A free local UDP port on `host`. */
export function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, host, () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

export interface SippRun {
  readonly code: number | null;
  readonly output: string;
  /** Final-screen counters per received response code: messages, retrans, timeouts, unexpected. */
  readonly received: ReadonlyMap<string, { messages: number; timeouts: number; unexpected: number }>;
}

export interface SippOptions {
  /** Scenario XML text (written to `dir`) or a path. */
  readonly scenario: { readonly xml: string; readonly name: string } | { readonly file: string };
  readonly dir: string;
  /** Peer `host:port` (UAC) or nothing (UAS). */
  readonly remote?: string;
  readonly localIp?: string;
  readonly localPort?: number;
  /** Calls (`-m`). */
  readonly calls?: number;
  /** Overall bound in seconds (`-timeout`); the process is killed 10 s after it. */
  readonly timeoutSec?: number;
  /** Per-recv timeout (`-recv_timeout`), ms. */
  readonly recvTimeoutMs?: number;
  /** Digest `uri` host SIPp puts in `[authentication]` (it prefixes `sip:`; by default remote_ip:remote_port). */
  readonly authUri?: string;
  readonly extraArgs?: readonly string[];
}

function parseScreen(output: string): SippRun['received'] {
  const out = new Map<string, { messages: number; timeouts: number; unexpected: number }>();
  for (const m of output.matchAll(/^\s*(\d{3}) <-+\s+(?:E-RTD\d\s+)?(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/gm)) {
    const prev = out.get(m[1]!) ?? { messages: 0, timeouts: 0, unexpected: 0 };
    out.set(m[1]!, {
      messages: prev.messages + Number(m[2]),
      timeouts: prev.timeouts + Number(m[4]),
      unexpected: prev.unexpected + Number(m[5]),
    });
  }
  return out;
}

/** Starts SIPp bounded by `-m`, `-timeout` and a kill timer; `done` resolves with its exit and final screen. */
export async function startSipp(
  opts: SippOptions,
): Promise<{ pid: number; done: Promise<SippRun>; kill(): void }> {
  let file: string;
  if ('xml' in opts.scenario) {
    file = join(opts.dir, opts.scenario.name);
    await writeFile(file, opts.scenario.xml);
  } else {
    file = opts.scenario.file;
  }
  const timeoutSec = opts.timeoutSec ?? 15;
  const args = [
    '-sf',
    file,
    '-t',
    'u1',
    '-i',
    opts.localIp ?? '127.0.0.1',
    '-p',
    String(opts.localPort ?? (await freePort(opts.localIp))),
    '-m',
    String(opts.calls ?? 1),
    '-timeout',
    `${timeoutSec}s`,
    '-timeout_error',
    '-recv_timeout',
    String(opts.recvTimeoutMs ?? 3000),
    '-nostdin',
    '-nr',
    ...(opts.authUri === undefined ? [] : ['-auth_uri', opts.authUri]),
    ...(opts.extraArgs ?? []),
    ...(opts.remote === undefined ? [] : [opts.remote]),
  ];
  const child = spawn(SIPP, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.dir });
  if (child.pid === undefined) throw new Error('sipp did not start');
  let output = '';
  child.stdout.on('data', (b: Buffer) => {
    output += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => {
    output += b.toString();
  });
  const done = new Promise<SippRun>((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), (timeoutSec + 10) * 1000);
    child.on('close', (code) => {
      clearTimeout(killer);
      const tail = output.slice(-8000);
      resolve({ code, output: tail, received: parseScreen(tail) });
    });
  });
  return { pid: child.pid, done, kill: () => child.kill('SIGKILL') };
}

/** Runs SIPp to completion (see {@link startSipp}). */
export async function runSipp(opts: SippOptions): Promise<SippRun> {
  return (await startSipp(opts)).done;
}
