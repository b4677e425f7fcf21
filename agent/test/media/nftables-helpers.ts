/**
 * Namespaces and child processes for the kernel media driver tests: three namespaces of our own
 * (`<id>-a`: a's peer and an intruder, `<id>-fw`: the firewall where the driver runs, `<id>-b`: b's
 * peer and an intruder), joined by veth pairs, addresses only inside them (192.168.77.0/24 on the a
 * side, TEST-NET-3 203.0.113.0/24 on the b side). Nothing is added to the root namespace.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(HERE, '../../..');
export const RUNNER = join(HERE, 'nftables-runner.ts');
export const UDP_PARTY = join(HERE, 'nftables-udp.mjs');
export const ADDON = join(REPO_ROOT, 'agent/nftables-napi/build/Release/nftables_napi.node');

const TOOL_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin'];
function have(tool: string): boolean {
  return TOOL_DIRS.some((d) => {
    try {
      accessSync(join(d, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Why these tests cannot run here, or undefined. */
export function nftSkipReason(): string | undefined {
  if (process.platform !== 'linux')
    return `needs root and nftables on Linux (platform is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root and nftables (not root)';
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  const caps = BigInt(`0x${capEff ?? '0'}`);
  if ((caps & (1n << 12n)) === 0n || (caps & (1n << 21n)) === 0n) {
    return 'needs root and nftables (CAP_NET_ADMIN and CAP_SYS_ADMIN missing)';
  }
  if (!have('ip') || !have('nft'))
    return 'needs root and nftables (ip or nft missing: Debian iproute2, nftables)';
  if (!existsSync(ADDON)) return `addon not built (${ADDON} missing: install libnftables-dev, npm rebuild)`;
  return undefined;
}

export const ADDR = {
  aLocal: '192.168.77.1',
  aPeer: '192.168.77.10',
  aIntruder: '192.168.77.66',
  bLocal: '203.0.113.1',
  bPeer: '203.0.113.10',
  bIntruder: '203.0.113.66',
  // IPv6: documentation prefixes (RFC 3849).
  aLocal6: '2001:db8:77::1',
  aPeer6: '2001:db8:77::10',
  bLocal6: '2001:db8:113::1',
  bPeer6: '2001:db8:113::10',
} as const;

export type NsName = 'a' | 'fw' | 'b';

export class Netns {
  readonly id = `swnft${randomBytes(3).toString('hex')}`;
  readonly ns: Record<NsName, string> = { a: `${this.id}-a`, fw: `${this.id}-fw`, b: `${this.id}-b` };
  private readonly children = new Set<ChildProcess>();
  private created: string[] = [];

  up(): void {
    const { a, fw, b } = this.ns;
    for (const n of [a, fw, b]) {
      ip(['netns', 'add', n]);
      this.created.push(n);
      ip(['-n', n, 'link', 'set', 'lo', 'up']);
    }
    const i = this.id;
    ip(['link', 'add', `${i}a`, 'netns', a, 'type', 'veth', 'peer', 'name', `${i}fa`, 'netns', fw]);
    ip(['link', 'add', `${i}b`, 'netns', b, 'type', 'veth', 'peer', 'name', `${i}fb`, 'netns', fw]);
    ip(['-n', a, 'addr', 'add', `${ADDR.aPeer}/24`, 'dev', `${i}a`]);
    ip(['-n', a, 'addr', 'add', `${ADDR.aIntruder}/24`, 'dev', `${i}a`]);
    ip(['-n', fw, 'addr', 'add', `${ADDR.aLocal}/24`, 'dev', `${i}fa`]);
    ip(['-n', fw, 'addr', 'add', `${ADDR.bLocal}/24`, 'dev', `${i}fb`]);
    ip(['-n', b, 'addr', 'add', `${ADDR.bPeer}/24`, 'dev', `${i}b`]);
    ip(['-n', b, 'addr', 'add', `${ADDR.bIntruder}/24`, 'dev', `${i}b`]);
    ip(['-n', a, 'addr', 'add', `${ADDR.aPeer6}/64`, 'dev', `${i}a`, 'nodad']);
    ip(['-n', fw, 'addr', 'add', `${ADDR.aLocal6}/64`, 'dev', `${i}fa`, 'nodad']);
    ip(['-n', fw, 'addr', 'add', `${ADDR.bLocal6}/64`, 'dev', `${i}fb`, 'nodad']);
    ip(['-n', b, 'addr', 'add', `${ADDR.bPeer6}/64`, 'dev', `${i}b`, 'nodad']);
    for (const [n, dev] of [
      [a, `${i}a`],
      [fw, `${i}fa`],
      [fw, `${i}fb`],
      [b, `${i}b`],
    ] as const) {
      ip(['-n', n, 'link', 'set', dev, 'up']);
    }
    this.exec('fw', 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    this.exec('fw', 'sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']);
  }

  /** Runs a command in a namespace, synchronously; returns stdout. */
  exec(n: NsName, cmd: string, args: readonly string[], input?: string): string {
    return execFileSync('ip', ['netns', 'exec', this.ns[n], cmd, ...args], {
      encoding: 'utf8',
      timeout: 20_000,
      ...(input !== undefined ? { input } : {}),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  }

  /** Starts a line-protocol child in a namespace (killed by PID in down()). */
  start(n: NsName, args: readonly string[]): LineChild {
    const child = spawn('ip', ['netns', 'exec', this.ns[n], process.execPath, ...args], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return new LineChild(child);
  }

  runner(): LineChild {
    return this.start('fw', [
      '--conditions=@sipwall/source',
      '--import',
      'tsx',
      RUNNER,
      '30000',
      '30999',
      ADDR.aLocal,
      ADDR.bLocal,
      ADDR.aLocal6,
      ADDR.bLocal6,
    ]);
  }

  party(n: NsName): LineChild {
    return this.start(n, [UDP_PARTY]);
  }

  /** `Udp: InDatagrams` of the fw namespace (datagrams delivered to its sockets). */
  udpInDatagrams(): number {
    const snmp = this.exec('fw', 'cat', ['/proc/net/snmp']);
    const lines = snmp.split('\n').filter((l) => l.startsWith('Udp:'));
    const names = lines[0]?.split(/\s+/) ?? [];
    const values = lines[1]?.split(/\s+/) ?? [];
    return Number(values[names.indexOf('InDatagrams')]);
  }

  down(): void {
    for (const c of this.children) if (c.pid !== undefined) safeKill(c.pid);
    this.children.clear();
    for (const n of this.created) {
      try {
        ip(['netns', 'del', n]);
      } catch {}
    }
    this.created = [];
  }
}

function safeKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {}
}

function ip(args: readonly string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
}

/** A child speaking one JSON line per command and per answer; its first line says whether it is ready. */
export class LineChild {
  private readonly lines: string[] = [];
  private readonly waiters: Array<(line: string) => void> = [];
  private stderr = '';
  readonly ready: Promise<{ ready: boolean; reason?: string }>;

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const w = this.waiters.shift();
      if (w) w(line);
      else this.lines.push(line);
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
    });
    this.ready = this.next(30_000).then((l) => JSON.parse(l) as { ready: boolean; reason?: string });
  }

  private next(timeoutMs: number): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((res, rej) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        rej(new Error(`no answer in ${timeoutMs} ms; stderr: ${this.stderr}`));
      }, timeoutMs);
      const w = (line: string) => {
        clearTimeout(timer);
        res(line);
      };
      this.waiters.push(w);
      this.child.once('exit', () => rej(new Error(`child exited; stderr: ${this.stderr}`)));
    });
  }

  /** Sends one command and waits for its answer; throws the child's error. */
  async call<T = unknown>(cmd: Record<string, unknown>, timeoutMs = 30_000): Promise<T> {
    await this.ready;
    this.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
    const answer = JSON.parse(await this.next(timeoutMs)) as { ok: boolean; result?: T; error?: string };
    if (!answer.ok) throw new Error(answer.error);
    return answer.result as T;
  }

  kill9(): Promise<void> {
    return new Promise((res) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return res();
      this.child.once('exit', () => res());
      if (this.child.pid !== undefined) safeKill(this.child.pid);
    });
  }
}

export interface Datagram {
  readonly from: string;
  readonly to: string;
  readonly data: string;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
