/**
 * baresip (Debian's package, unmodified) as a phone inside a lab namespace, driven through its
 * `ctrl_tcp` module: netstring JSON commands (`{"command":"dial","params":"sip:…","token":"…"}`)
 * and events (`{"event":true,"type":"CALL_ESTABLISHED",…}`). ctrl_tcp listens on 127.0.0.1 inside
 * the phone's namespace, so a tiny relay (node, in the same namespace) turns it into JSON lines on
 * stdin/stdout for the test process. No audio device: `aubridge` is both player and source.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab, LabNs } from '../../infra/lab/lab.js';

export const BARESIP_MODULES = '/usr/lib/baresip/modules';
const NEEDED_MODULES = ['g711', 'aubridge', 'account', 'menu', 'ctrl_tcp', 'aufile', 'sndfile'];

/** Why baresip phones cannot run here, or undefined. */
export function baresipSkipReason(): string | undefined {
  try {
    execFileSync('baresip', ['-h'], { stdio: 'ignore', timeout: 5_000 });
  } catch (e) {
    // `baresip -h` prints usage and exits 1 on some builds: only a missing binary counts.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'needs baresip (Debian: baresip)';
  }
  const missing = NEEDED_MODULES.filter((m) => !existsSync(join(BARESIP_MODULES, `${m}.so`)));
  if (missing.length > 0) return `needs baresip modules ${missing.join(', ')} in ${BARESIP_MODULES}`;
  return undefined;
}

/** A baresip event (ctrl_tcp `event: true`). */
export interface BaresipEvent {
  readonly type: string;
  readonly class?: string;
  readonly accountaor?: string;
  readonly direction?: string;
  readonly peeruri?: string;
  readonly id?: string;
  readonly param?: string;
}

interface BaresipResponse {
  readonly ok: boolean;
  readonly data: string;
}

export interface PhoneOptions {
  readonly ns: LabNs;
  /** Directory for the phone's config (created). */
  readonly dir: string;
  /** Local SIP address (`sip_listen <address>:5060`). */
  readonly address: string;
  /** ctrl_tcp port on 127.0.0.1 inside the namespace. */
  readonly ctrlPort: number;
  /** One line of baresip's `accounts` file. */
  readonly account: string;
  /**
   * Real audio: the phone sends `source` (a WAV file, 8 kHz mono 16-bit, via `aufile`) and
   * records every call's audio into `recordDir` (`sndfile`: `dump-…-dec.wav` is what it heard).
   * Without it the phone sends and plays nothing (`aubridge`).
   */
  readonly audio?: { readonly source: string; readonly recordDir: string };
}

/**
 * Relays ctrl_tcp to stdio: each stdin line (JSON) → one netstring; each netstring received → one
 * stdout line. Retries the connect while baresip starts (bounded: 100 × 100 ms).
 */
const RELAY = `
const net = require('node:net');
const port = Number(process.argv[1]);
let tries = 0;
const connect = () => {
  const s = net.connect(port, '127.0.0.1');
  s.once('error', () => { if (++tries >= 100) process.exit(2); setTimeout(connect, 100); });
  s.once('connect', () => {
    s.removeAllListeners('error');
    s.on('error', () => process.exit(3));
    console.log(JSON.stringify({ relay: 'connected' }));
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const colon = buf.indexOf(58);
        if (colon < 0) break;
        const len = Number(buf.subarray(0, colon).toString());
        if (buf.length < colon + 1 + len + 1) break;
        process.stdout.write(buf.subarray(colon + 1, colon + 1 + len).toString() + '\\n');
        buf = buf.subarray(colon + 1 + len + 1);
      }
    });
    s.on('close', () => process.exit(0));
    let line = '';
    process.stdin.setEncoding('utf8').on('data', (d) => {
      line += d;
      let i;
      while ((i = line.indexOf('\\n')) >= 0) {
        const j = line.slice(0, i);
        line = line.slice(i + 1);
        s.write(Buffer.byteLength(j) + ':' + j + ',');
      }
    });
  });
};
connect();
`;

const LOG_LIMIT = 200_000;

/** One baresip process and its ctrl_tcp relay. */
export class BaresipPhone {
  readonly events: BaresipEvent[] = [];
  private log = '';
  private readonly pending = new Map<string, (r: BaresipResponse) => void>();
  private waiters: (() => void)[] = [];
  private token = 0;
  private connected = false;

  private constructor(
    readonly name: string,
    readonly proc: ChildProcess,
    private readonly relay: ChildProcess,
  ) {
    const keep = (d: Buffer) => {
      // The call status line repeats many times a second: keep the log bounded.
      this.log = (this.log + d.toString('latin1')).slice(-LOG_LIMIT);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    let rest = '';
    relay.stdout?.setEncoding('utf8').on('data', (d: string) => {
      rest += d;
      for (let i = rest.indexOf('\n'); i >= 0; i = rest.indexOf('\n')) {
        this.onLine(rest.slice(0, i));
        rest = rest.slice(i + 1);
      }
    });
  }

  /** Starts baresip (`-f dir`, SIP trace on) and its relay; resolves once the relay is connected. */
  static async start(lab: Lab, name: string, o: PhoneOptions, timeoutMs = 10_000): Promise<BaresipPhone> {
    mkdirSync(o.dir, { recursive: true });
    writeFileSync(
      join(o.dir, 'config'),
      [
        'poll_method\t\tepoll',
        `sip_listen\t\t${o.address}:5060`,
        // No sound card: aubridge plays into and records from the same virtual device; with
        // `audio`, the source is a file and sndfile records what was heard.
        'audio_player\t\taubridge,nil',
        o.audio === undefined ? 'audio_source\t\taubridge,nil' : `audio_source\t\taufile,${o.audio.source}`,
        'audio_alert\t\taubridge,nil',
        'rtp_ports\t\t20000-20100',
        `module_path\t\t${BARESIP_MODULES}`,
        'module\t\t\tg711.so',
        'module\t\t\taubridge.so',
        ...(o.audio === undefined
          ? []
          : ['module\t\t\taufile.so', 'module\t\t\tsndfile.so', `snd_path\t\t${o.audio.recordDir}`]),
        'module_app\t\taccount.so',
        'module_app\t\tmenu.so',
        'module_app\t\tctrl_tcp.so',
        `ctrl_tcp_listen\t\t127.0.0.1:${o.ctrlPort}`,
        '',
      ].join('\n'),
    );
    writeFileSync(join(o.dir, 'accounts'), `${o.account}\n`);
    const proc = lab.spawn(o.ns, 'baresip', ['-f', o.dir, '-s'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const relay = lab.spawn(o.ns, process.execPath, ['-e', RELAY, String(o.ctrlPort)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const phone = new BaresipPhone(name, proc, relay);
    try {
      await phone.until(() => phone.connected, timeoutMs, 'ctrl_tcp relay connected');
    } catch (e) {
      await phone.stop();
      throw e;
    }
    return phone;
  }

  private onLine(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (msg.relay === 'connected') this.connected = true;
    else if (msg.event === true) this.events.push(msg as unknown as BaresipEvent);
    else if (msg.response === true && typeof msg.token === 'string') {
      this.pending.get(msg.token)?.({ ok: msg.ok === true, data: String(msg.data ?? '') });
      this.pending.delete(msg.token);
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when `check()` holds, re-checked on every message; rejects after `ms` with the log tail. */
  async until(check: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0 || this.proc.exitCode !== null) {
        throw new Error(
          `${this.name}: no ${what} within ${ms} ms (baresip ${this.proc.exitCode === null ? 'running' : `exited ${this.proc.exitCode}`}); events: ${this.events.map((e) => e.type).join(' ')}\n--- baresip log tail ---\n${this.logTail()}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for an event of `type` (after index `from` of `events`) and returns it. */
  async waitEvent(type: string, ms: number, from = 0): Promise<BaresipEvent> {
    let found: BaresipEvent | undefined;
    await this.until(
      () => {
        found = this.events.slice(from).find((e) => e.type === type);
        return found !== undefined;
      },
      ms,
      `${type} event`,
    );
    return found!;
  }

  /** A ctrl_tcp command (`dial`, `hangup`, `quit`, …); resolves with baresip's response. */
  async command(command: string, params = '', ms = 5_000): Promise<BaresipResponse> {
    const token = `t${++this.token}`;
    const answer = new Promise<BaresipResponse>((resolve) => this.pending.set(token, resolve));
    this.relay.stdin?.write(`${JSON.stringify({ command, params, token })}\n`);
    let response: BaresipResponse | undefined;
    void answer.then((r) => {
      response = r;
    });
    await this.until(() => response !== undefined, ms, `response to ${command}`);
    return response!;
  }

  /** The last part of baresip's output (SIP trace), ANSI colours and call status lines removed. */
  logTail(chars = 6_000): string {
    return this.log
      .replace(/\x1b\[[0-9;]*m/g, '')
      .replace(/\[\d+:\d\d:\d\d\] audio=[^ ]* \(bit\/s\) */g, '')
      .slice(-chars);
  }

  /** `quit` (baresip unregisters and exits), then SIGTERM/SIGKILL by PID if it lingers. */
  async stop(ms = 5_000): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null && this.connected) {
      await this.command('quit', '', 2_000).catch(() => {});
    }
    for (const [child, signal] of [
      [this.proc, null],
      [this.proc, 'SIGTERM'],
      [this.proc, 'SIGKILL'],
    ] as const) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      if (signal !== null) child.kill(signal);
      await waitExit(child, signal === null ? ms : 2_000);
    }
    if (this.relay.exitCode === null && this.relay.signalCode === null) {
      this.relay.kill('SIGTERM');
      await waitExit(this.relay, 2_000);
    }
  }
}

function waitExit(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
