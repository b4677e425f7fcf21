/**
 * The network-namespace lab for tests: `lan` (phones), `fw` (the firewall, where the agent runs) and
 * `wan` (public peers and a DNS server), built by `lab.sh` next to this file. See README.md here.
 *
 * ```ts
 * const skip = labSkipReason();
 * describe.skipIf(skip)(`... ${skip ?? ''}`, () => {
 *   let lab: Lab;
 *   beforeAll(async () => { lab = await labUp({ dnsRecords: [{ type: 'A', name: 'sip.example.test', address: '203.0.113.10' }] }); });
 *   afterAll(() => lab?.down());
 * });
 * ```
 *
 * Every `labUp()` gets its own prefix (pid + counter + random), so test files may run in parallel.
 * Processes started with `lab.spawn`/`lab.capture` are killed by PID in `down()`; a process 'exit'
 * handler tears down labs still up, and `labUp()` first removes labs left by dead test processes.
 */
import { type ChildProcess, execFileSync, type SpawnOptions, spawn as spawnChild } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Which namespace of a lab. */
export type LabNs = 'lan' | 'fw' | 'wan';

/** The lab's fixed addressing (IPv4 only; the lab disables IPv6 in its namespaces). */
export const LAB_ADDR = {
  /** The phones' private network, behind the firewall. */
  lanNet: '192.168.77.0/24',
  /** The public segment (TEST-NET-3) between the firewall and the peers. */
  wanNet: '203.0.113.0/24',
  /** The fw's inside address: the phones' default gateway. */
  fwInside: '192.168.77.1',
  /** The fw's outside address: the masquerade source of LAN→WAN traffic. */
  fwOutside: '203.0.113.1',
  /** Phone addresses on the lan veth (the first is primary: the default source address). */
  phones: ['192.168.77.10', '192.168.77.11', '192.168.77.12'],
  /** Public peers on the wan veth (the first is primary). */
  peers: ['203.0.113.10', '203.0.113.11', '203.0.113.12', '203.0.113.13'],
  /** dnsmasq in wan, port 53, reachable from fw. */
  dns: '203.0.113.53',
} as const;

export type LabAddresses = typeof LAB_ADDR;

/** Interface names: `lan` in the lan namespace, `fwInside`/`fwOutside` in fw, `wan` in wan. */
export interface LabInterfaces {
  readonly lan: string;
  readonly fwInside: string;
  readonly fwOutside: string;
  readonly wan: string;
}

/** A DNS record served by the lab's dnsmasq. `raw` is one dnsmasq option line, for anything else. */
export type DnsRecord =
  | { type: 'A'; name: string; address: string }
  | { type: 'SRV'; name: string; target: string; port: number; priority?: number; weight?: number }
  | {
      type: 'NAPTR';
      name: string;
      order: number;
      preference: number;
      /** e.g. 'S' */
      flags: string;
      /** e.g. 'SIP+D2U' */
      service: string;
      regexp?: string;
      /** e.g. '_sip._udp.example.test' */
      replacement: string;
    }
  | { type: 'raw'; line: string };

export interface LabOptions {
  /** Records for the wan DNS server (203.0.113.53); `ns.lab.test` → 203.0.113.53 is always there. */
  dnsRecords?: readonly DnsRecord[];
}

export interface ExecOptions {
  /** Kill the command after this long (default 30 s). */
  timeoutMs?: number;
  /** Written to the command's stdin. */
  input?: string;
  /** Throw a LabError on a non-zero exit (default true). Pass false to inspect `code`. */
  check?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit code, or null when killed by a signal (see `signal`). */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Capture {
  readonly file: string;
  /** Stops tcpdump and waits until it has flushed the pcap. */
  stop(): Promise<void>;
}

export interface Lab {
  readonly prefix: string;
  /** Namespace names: `<prefix>-lan`, `<prefix>-fw`, `<prefix>-wan`. */
  readonly ns: Readonly<Record<LabNs, string>>;
  readonly ifaces: LabInterfaces;
  readonly addr: LabAddresses;
  /** `/tmp/sipwall-lab/<prefix>`: dnsmasq config and log, recorded PIDs; removed by `down()`. */
  readonly stateDir: string;
  /** Runs `cmd args` inside a namespace and collects its output. */
  exec(ns: LabNs, cmd: string, args?: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Starts `cmd args` inside a namespace; tracked and killed by PID in `down()`. */
  spawn(ns: LabNs, cmd: string, args?: readonly string[], opts?: SpawnOptions): ChildProcess;
  /** Starts `tcpdump -U -w file` on `iface` in `ns` (optional BPF filter words); resolves once it listens. */
  capture(ns: LabNs, iface: string, file: string, filter?: readonly string[]): Promise<Capture>;
  /** Kills what this lab started, deletes its namespaces and state dir. Safe to call twice. */
  down(): Promise<void>;
}

export type LabErrorCode = 'LAB_COMMAND_FAILED' | 'LAB_TIMEOUT' | 'LAB_BAD_INPUT';

/** A lab command failed; the message carries the command line and its stderr. */
export class LabError extends Error {
  override readonly name = 'LabError';
  constructor(
    readonly code: LabErrorCode,
    message: string,
    readonly result?: ExecResult,
  ) {
    super(message);
  }
}

export const LAB_SCRIPT = fileURLToPath(new URL('./lab.sh', import.meta.url));
export const LAB_STATE_ROOT = '/tmp/sipwall-lab';

const TOOL_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const TOOLS = ['ip', 'nft', 'dnsmasq', 'tcpdump'] as const;

function which(tool: string): string | undefined {
  for (const dir of TOOL_DIRS) {
    const path = join(dir, tool);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {}
  }
  return undefined;
}

/**
 * Why lab tests cannot run here, or undefined when they can. Use with `describe.skipIf(labSkipReason())`
 * and put the reason in the suite name so a skip says why.
 */
export function labSkipReason(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux network namespaces (platform is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root (ip netns, nft, tcpdump)';
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  const caps = BigInt(`0x${capEff ?? '0'}`);
  // CAP_NET_ADMIN (12) for links, addresses and nftables; CAP_SYS_ADMIN (21) for `ip netns add`.
  if ((caps & (1n << 12n)) === 0n || (caps & (1n << 21n)) === 0n) {
    return 'needs CAP_NET_ADMIN and CAP_SYS_ADMIN (root in a container without them)';
  }
  const missing = TOOLS.filter((t) => which(t) === undefined);
  if (missing.length > 0) {
    return `needs ${missing.join(', ')} (Debian: iproute2, nftables, dnsmasq-base, tcpdump)`;
  }
  return undefined;
}

function clean(v: string | number): string {
  const s = String(v);
  if (/[\n\r]/.test(s) || (typeof v === 'string' && s.includes(','))) {
    throw new LabError('LAB_BAD_INPUT', `DNS record value ${JSON.stringify(s)} contains a comma or newline`);
  }
  return s;
}

/** The dnsmasq option line for one record; throws LabError on a value that would break the config. */
export function dnsmasqLine(r: DnsRecord): string {
  switch (r.type) {
    case 'A':
      return `host-record=${clean(r.name)},${clean(r.address)}`;
    case 'SRV':
      return `srv-host=${[r.name, r.target, r.port, r.priority ?? 0, r.weight ?? 0].map(clean).join(',')}`;
    case 'NAPTR': {
      const fields = [r.name, r.order, r.preference, r.flags, r.service, r.regexp ?? '', r.replacement];
      return `naptr-record=${fields.map(clean).join(',')}`;
    }
    case 'raw':
      if (/[\n\r]/.test(r.line)) throw new LabError('LAB_BAD_INPUT', 'raw DNS line contains a newline');
      return r.line;
  }
}

/** Runs a command (no namespace), collecting output; bounded by a timeout. */
function run(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const line = [cmd, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawnChild(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new LabError('LAB_COMMAND_FAILED', `${line}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: ExecResult = { stdout, stderr, code, signal };
      if (timedOut) {
        reject(
          new LabError('LAB_TIMEOUT', `${line}: timed out after ${timeoutMs} ms; stderr: ${stderr}`, result),
        );
      } else if (code !== 0 && opts.check !== false) {
        reject(
          new LabError(
            'LAB_COMMAND_FAILED',
            `${line}: exit ${code ?? signal}; stderr: ${stderr.trim() || '(empty)'}`,
            result,
          ),
        );
      } else {
        resolve(result);
      }
    });
    child.stdin.on('error', () => {}); // a command that exits without reading stdin
    child.stdin.end(opts.input ?? '');
  });
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** SIGTERM (or `signal`), up to 2 s, then SIGKILL; by the child's own PID only. */
async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  if (await waitExit(child, 2_000)) return;
  child.kill('SIGKILL');
  await waitExit(child, 2_000);
}

const live = new Map<string, LabImpl>();
let counter = 0;
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Best effort, synchronous: 'exit' handlers cannot wait on promises.
  process.on('exit', () => {
    for (const lab of live.values()) lab.downSync();
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes labs whose owning test process is gone (killed before its afterAll ran). */
async function sweepStale(): Promise<void> {
  let dirs: string[];
  try {
    dirs = readdirSync(LAB_STATE_ROOT);
  } catch {
    return;
  }
  for (const prefix of dirs.slice(0, 64)) {
    if (live.has(prefix)) continue;
    let owner: number;
    try {
      owner = Number(readFileSync(join(LAB_STATE_ROOT, prefix, 'owner'), 'utf8'));
    } catch {
      continue; // no owner file: a lab started by hand with lab.sh; leave it
    }
    if (Number.isInteger(owner) && owner > 0 && !pidAlive(owner)) {
      await run('bash', [LAB_SCRIPT, 'down', prefix], { check: false, timeoutMs: 15_000 });
    }
  }
}

function newPrefix(): string {
  counter = (counter + 1) % 1296;
  // ≤ 11 chars: 'sw' + pid (≤ 5 base-36 digits for pid ≤ 2^22) + counter (≤ 2) + random (2).
  const rand = randomInt(0, 1296).toString(36).padStart(2, '0');
  return `sw${process.pid.toString(36)}${counter.toString(36)}${rand}`.slice(0, 11);
}

class LabImpl implements Lab {
  readonly ns: Readonly<Record<LabNs, string>>;
  readonly ifaces: LabInterfaces;
  readonly addr = LAB_ADDR;
  readonly stateDir: string;
  private readonly children = new Set<ChildProcess>();
  private downing: Promise<void> | undefined;

  constructor(readonly prefix: string) {
    this.ns = { lan: `${prefix}-lan`, fw: `${prefix}-fw`, wan: `${prefix}-wan` };
    this.ifaces = {
      lan: `${prefix}-lan`,
      fwInside: `${prefix}-in`,
      fwOutside: `${prefix}-out`,
      wan: `${prefix}-wan`,
    };
    this.stateDir = join(LAB_STATE_ROOT, prefix);
  }

  exec(ns: LabNs, cmd: string, args: readonly string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
    return run('ip', ['netns', 'exec', this.ns[ns], cmd, ...args], opts);
  }

  spawn(ns: LabNs, cmd: string, args: readonly string[] = [], opts: SpawnOptions = {}): ChildProcess {
    if (this.downing) throw new LabError('LAB_BAD_INPUT', `lab ${this.prefix} is down`);
    // `ip netns exec` execs the command, so child.pid is the command's own PID.
    const child = spawnChild('ip', ['netns', 'exec', this.ns[ns], cmd, ...args], opts);
    if (child.pid !== undefined) {
      const pidFile = join(this.stateDir, 'pids', `${child.pid}.pid`);
      // Recorded so `lab.sh down <prefix>` can kill it even if this process dies first.
      writeFileSync(pidFile, `${child.pid}\n`);
      this.children.add(child);
      child.once('exit', () => {
        this.children.delete(child);
        rmSync(pidFile, { force: true });
      });
    }
    return child;
  }

  async capture(ns: LabNs, iface: string, file: string, filter: readonly string[] = []): Promise<Capture> {
    // --immediate-mode and -U: each packet reaches the file at once (else SIGINT loses the last buffer);
    // -Z root: write the file as root (tcpdump otherwise drops to its own user).
    const child = this.spawn(
      ns,
      'tcpdump',
      ['--immediate-mode', '-U', '-n', '-Z', 'root', '-i', iface, '-w', file, ...filter],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        void stopChild(child);
        reject(
          new LabError('LAB_TIMEOUT', `tcpdump on ${this.ns[ns]}/${iface} did not start in 5 s: ${stderr}`),
        );
      }, 5_000);
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        if (stderr.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(
          new LabError('LAB_COMMAND_FAILED', `tcpdump on ${this.ns[ns]}/${iface} exited ${code}: ${stderr}`),
        );
      });
    });
    child.stderr?.resume();
    return { file, stop: () => stopChild(child, 'SIGINT') };
  }

  down(): Promise<void> {
    this.downing ??= (async () => {
      await Promise.all([...this.children].map((c) => stopChild(c)));
      await run('bash', [LAB_SCRIPT, 'down', this.prefix], { timeoutMs: 30_000 });
      live.delete(this.prefix);
    })();
    return this.downing;
  }

  /** For the process 'exit' handler only. */
  downSync(): void {
    for (const child of this.children) child.kill('SIGKILL');
    try {
      execFileSync('bash', [LAB_SCRIPT, 'down', this.prefix], { stdio: 'ignore', timeout: 15_000 });
    } catch {}
    live.delete(this.prefix);
  }
}

/**
 * Builds a fresh lab (unique prefix) and resolves once dnsmasq answers. Throws a LabError with the
 * failing command and its stderr, after tearing down whatever it had built.
 */
export async function labUp(opts: LabOptions = {}): Promise<Lab> {
  const skip = labSkipReason();
  if (skip !== undefined) throw new LabError('LAB_BAD_INPUT', `lab unavailable: ${skip}`);
  await sweepStale();
  installExitHook();
  const lab = new LabImpl(newPrefix());
  live.set(lab.prefix, lab);
  try {
    mkdirSync(join(lab.stateDir, 'pids'), { recursive: true });
    writeFileSync(join(lab.stateDir, 'owner'), `${process.pid}\n`);
    const recordsFile = join(lab.stateDir, 'records.conf');
    writeFileSync(recordsFile, `${(opts.dnsRecords ?? []).map(dnsmasqLine).join('\n')}\n`);
    await run('bash', [LAB_SCRIPT, 'up', lab.prefix], {
      env: { ...process.env, LAB_DNS_RECORDS: recordsFile },
      timeoutMs: 30_000,
    });
    return lab;
  } catch (err) {
    await lab.down().catch(() => {});
    throw err;
  }
}

/** A pcap as text (`tcpdump -r file -nn -A`, or `-X` with hex), for assertions on headers and payloads. */
export async function readPcap(file: string, opts: { hex?: boolean } = {}): Promise<string> {
  const { stdout } = await run('tcpdump', ['-r', file, '-nn', opts.hex ? '-X' : '-A'], { timeoutMs: 30_000 });
  return stdout;
}
