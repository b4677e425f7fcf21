/**
 * Process, port and CPU helpers for bench/register. Everything is PID based: the bench signals
 * only processes it spawned itself (and, for Kamailio, the workers those forked), never by name.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export const LO = '127.0.0.1';

export const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Clock ticks per second of /proc/<pid>/stat times. */
export const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** A UDP port on 127.0.0.1 that was free a moment ago (bound to port 0, read, closed). */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, LO, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, LO, () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function statFields(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** utime + stime of a process (all its threads), in ticks; 0 once it is gone. */
export function procTicks(pid: number): number {
  const f = statFields(pid);
  return f === undefined ? 0 : Number(f[11]) + Number(f[12]);
}

/** Kernel-mode clock ticks (stime) of one process, all threads. */
export function procSysTicks(pid: number): number {
  const f = statFields(pid);
  return f === undefined ? 0 : Number(f[12]);
}

export function parentOf(pid: number): number | undefined {
  const f = statFields(pid);
  return f === undefined ? undefined : Number(f[1]);
}

export function commOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (/^\d+$/.test(d) && parentOf(Number(d)) === pid) out.push(Number(d));
  }
  return out;
}

/** Resident set size in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** RssAnon / RssFile / VmHWM of /proc/<pid>/status, bytes. */
export function rssParts(pid: number): { anon: number; file: number; hwm: number } {
  let text = '';
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {}
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)\\s+kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { anon: kb('RssAnon'), file: kb('RssFile'), hwm: kb('VmHWM') };
}

/** Datagrams the kernel dropped because a UDP receive buffer was full (whole host). */
export function udpRcvbufErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Udp:'))
    .map((l) => l.trim().split(/\s+/));
  const names = lines[0] ?? [];
  const values = lines[1] ?? [];
  const i = names.indexOf('RcvbufErrors');
  return i < 0 ? 0 : Number(values[i]);
}

/** CPU of a group of processes over a window, as % of one core. */
export class CpuWindow {
  private readonly t0 = performance.now();
  private readonly ticks0: number;
  private readonly sys0: number;
  constructor(private readonly pids: () => readonly number[]) {
    this.ticks0 = this.sum();
    this.sys0 = this.sumSys();
  }
  private sum(): number {
    return this.pids().reduce((a, p) => a + procTicks(p), 0);
  }
  private sumSys(): number {
    return this.pids().reduce((a, p) => a + procSysTicks(p), 0);
  }
  /** { pct of one core, cpu seconds (of which kernel mode), wall seconds } since construction. */
  read(): { pct: number; cpuS: number; sysS: number; wallS: number } {
    const cpuS = (this.sum() - this.ticks0) / CLK_TCK;
    const sysS = (this.sumSys() - this.sys0) / CLK_TCK;
    const wallS = (performance.now() - this.t0) / 1000;
    return { pct: (100 * cpuS) / wallS, cpuS, sysS, wallS };
  }
}

/** Waits for a child to exit, up to `ms`; true if it did. */
export function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** SIGTERM (or `sig`) the child by PID, SIGKILL it after `ms`. */
export async function stopChild(child: ChildProcess, ms = 10_000, sig: NodeJS.Signals = 'SIGTERM') {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, sig);
  } catch {
    return;
  }
  if (await waitExit(child, ms)) return;
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {}
  await waitExit(child, 5000);
}

/** Sends OPTIONS to 127.0.0.1:port; resolves true if any SIP response comes back in `ms`. */
export function sipPing(port: number, ms = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    let done = false;
    const finish = (v: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      s.close();
      resolve(v);
    };
    const t = setTimeout(() => finish(false), ms);
    s.on('error', () => finish(false));
    s.on('message', (b) => finish(b.toString('latin1', 0, 8) === 'SIP/2.0 '));
    s.bind(0, LO, () => {
      const lp = s.address().port;
      const id = `${Date.now()}-${lp}`;
      const msg =
        `OPTIONS sip:${LO}:${port} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP ${LO}:${lp};branch=z9hG4bK-ping-${id};rport\r\n` +
        `Max-Forwards: 70\r\nFrom: <sip:ping@${LO}>;tag=p${lp}\r\nTo: <sip:${LO}:${port}>\r\n` +
        `Call-ID: ping-${id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
      s.send(msg, port, LO);
    });
  });
}

/** Polls `sipPing` until the server answers, the child exits or `ms` passes. */
export async function waitSipReady(child: ChildProcess, port: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    if (await sipPing(port)) return true;
    await sleep(200);
  }
  return false;
}
