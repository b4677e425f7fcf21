/**
 * SIPp through the real agent in the network-namespace lab (issue 9): calls from the outside to
 * registered phones (and to users who are not there), calls to the outside through an outbound
 * proxy and through RFC 3263 (NAPTR → SRV with failover from a dead target), forking with CANCEL
 * of the losing branch, in-dialog requests from either side by Record-Route, and bad input on the
 * wire. Scenarios live in `test/lab/sipp/`.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DnsRecord, LAB_ADDR, type Lab, type LabNs, labSkipReason, labUp } from '../../infra/lab/lab.js';
import { type LabAgent, labAgentConfig, startLabAgent } from '../helpers/lab-agent.js';

const SIPP_DIR = fileURLToPath(new URL('./sipp/', import.meta.url));

function hasSipp(): boolean {
  try {
    execFileSync('sipp', ['-v'], { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch (e) {
    // `sipp -v` exits non-zero on some builds but still runs.
    return (e as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

const skip = labSkipReason() ?? (hasSipp() ? undefined : 'needs sipp (Debian: sipp)');
const title = (name: string) => `${name}${skip ? ` (skipped: ${skip})` : ''}`;

const [PHONE, PHONE_B, PHONE_C] = LAB_ADDR.phones;
const [PEER, PEER_B, PEER_C, PEER_D] = LAB_ADDR.peers;
const INSIDE = `${LAB_ADDR.fwInside}:5060`;
const OUTSIDE = `${LAB_ADDR.fwOutside}:5060`;

// ---- SIPp -------------------------------------------------------------------------------------

interface SippOptions {
  readonly ns: LabNs;
  readonly scenario: string;
  /** Local address and SIP port. */
  readonly local: string;
  readonly port: number;
  readonly mediaPort: number;
  /** The agent (UAC role); absent for a UAS. */
  readonly remote?: string;
  readonly service?: string;
  readonly keys?: Readonly<Record<string, string>>;
  readonly auth?: { readonly user: string; readonly password: string };
  /** Calls to make (UAC) or take (UAS) before exiting. */
  readonly calls?: number;
  /** Global timeout: SIPp fails (exit ≠ 0) when it is reached. */
  readonly timeoutS?: number;
  readonly dir: string;
  readonly tag: string;
}

interface SippResult {
  readonly code: number | null;
  readonly argv: readonly string[];
  /** The -trace_msg log: every message sent and received. */
  readonly messages: string;
  readonly errors: string;
  readonly output: string;
}

function sippArgv(o: SippOptions): string[] {
  const argv: string[] = [];
  if (o.remote !== undefined) argv.push(o.remote);
  argv.push('-sf', join(SIPP_DIR, o.scenario), '-i', o.local, '-p', String(o.port));
  argv.push('-mi', o.local, '-mp', String(o.mediaPort), '-t', 'u1', '-nostdin');
  argv.push('-m', String(o.calls ?? 1), '-l', '1');
  argv.push('-timeout', `${o.timeoutS ?? 20}s`, '-timeout_error', '-recv_timeout', '15000');
  if (o.service !== undefined) argv.push('-s', o.service);
  for (const [k, v] of Object.entries(o.keys ?? {})) argv.push('-key', k, v);
  if (o.auth !== undefined) argv.push('-au', o.auth.user, '-ap', o.auth.password);
  argv.push('-trace_msg', '-message_file', join(o.dir, `${o.tag}.msg`));
  argv.push('-trace_err', '-error_file', join(o.dir, `${o.tag}.err`));
  return argv;
}

function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function result(o: SippOptions, argv: string[], code: number | null, output: string): SippResult {
  return {
    code,
    argv,
    messages: readOr(join(o.dir, `${o.tag}.msg`)),
    errors: readOr(join(o.dir, `${o.tag}.err`)),
    output,
  };
}

/** Runs SIPp to completion (a UAC or a registration). */
async function runSipp(lab: Lab, o: SippOptions): Promise<SippResult> {
  const argv = sippArgv(o);
  const r = await lab.exec(o.ns, 'sipp', argv, {
    check: false,
    timeoutMs: ((o.timeoutS ?? 20) + 10) * 1000,
  });
  return result(o, argv, r.code, r.stdout.slice(-4000) + r.stderr);
}

interface SippServer {
  readonly child: ChildProcess;
  /** Resolves when SIPp exits. */
  readonly done: Promise<SippResult>;
}

/** Starts a SIPp UAS in the background and waits until its SIP socket is bound. */
async function startSipp(lab: Lab, o: SippOptions): Promise<SippServer> {
  const argv = sippArgv(o);
  const child = lab.spawn(o.ns, 'sipp', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  });
  child.stderr?.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  });
  const done = new Promise<SippResult>((resolve) => {
    child.once('exit', (code) => resolve(result(o, argv, code, output)));
  });
  for (let i = 0; i < 50; i++) {
    if (child.exitCode !== null) break;
    const ss = await lab.exec(o.ns, 'ss', ['-Hlun', 'src', `${o.local}:${o.port}`], { check: false });
    if (ss.stdout.trim() !== '') return { child, done };
    await sleep(100);
  }
  throw new Error(`sipp ${o.scenario} on ${o.local}:${o.port} did not start:\n${output}`);
}

function describeRun(name: string, r: SippResult): string {
  return `${name}: sipp exit ${r.code}\n${r.argv.join(' ')}\n--- errors ---\n${r.errors.slice(-3000)}\n--- output ---\n${r.output.slice(-1500)}\n--- messages ---\n${r.messages.slice(-6000)}`;
}

/** One message of a -trace_msg log. */
interface Traced {
  readonly dir: 'sent' | 'received';
  readonly text: string;
  readonly head: string;
  readonly headers: string;
}

function tracedMessages(log: string): Traced[] {
  const out: Traced[] = [];
  const parts = log.split(/^-{20,}.*$/m);
  for (const part of parts) {
    const m = /^\s*UDP message (sent|received)[^\n]*\n\n?([\s\S]*)$/.exec(part);
    if (m === null) continue;
    const text = m[2]!.replace(/^\s+/, '');
    const end = text.search(/\r?\n\r?\n/);
    const headers = end < 0 ? text : text.slice(0, end);
    out.push({
      dir: m[1] === 'sent' ? 'sent' : 'received',
      text,
      head: headers.split(/\r?\n/, 1)[0] ?? '',
      headers,
    });
  }
  return out;
}

function headerValues(headers: string, name: string): string[] {
  const re = new RegExp(`^${name}\\s*:\\s*(.*)$`, 'gim');
  return [...headers.matchAll(re)].map((m) => m[1]!.trim());
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

let mediaPort = 16_000;
const nextMediaPort = () => {
  mediaPort += 10;
  return mediaPort;
};

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sipwall-proxy-sipp-'));
}

// ---- suites -----------------------------------------------------------------------------------

describe.skipIf(skip)(title('proxy with SIPp: calls from the outside to the site'), () => {
  let lab: Lab;
  let agent: LabAgent;
  let dir: string;

  beforeAll(async () => {
    dir = tempDir();
    lab = await labUp();
    agent = await startLabAgent(lab, labAgentConfig(join(dir, 'state'), { log: { level: 'debug' } }));
  });
  afterAll(async () => {
    await agent?.stop();
    await lab?.down();
    if (dir !== undefined && process.env.SIPWALL_KEEP_SIPP_LOGS === undefined)
      rmSync(dir, { recursive: true, force: true });
  });

  it('a call from the wan to a registered phone completes; no inside address reaches the caller', async () => {
    const reg = await runSipp(lab, {
      ns: 'lan',
      scenario: 'register.xml',
      local: PHONE,
      port: 5070,
      mediaPort: nextMediaPort(),
      remote: INSIDE,
      service: 'alice',
      keys: { domain: 'example.test' },
      auth: { user: 'alice', password: 'alice-secret' },
      dir,
      tag: 'c1-reg',
    });
    expect(reg.code, describeRun('register', reg)).toBe(0);
    const regs = await agent.admin<{ count: number; registrations: unknown[] }>('/registrations');
    expect(JSON.stringify(regs)).toContain('alice');

    const uas = await startSipp(lab, {
      ns: 'lan',
      scenario: 'uas-answer.xml',
      local: PHONE,
      port: 5070,
      mediaPort: nextMediaPort(),
      dir,
      tag: 'c1-uas',
    });
    const uac = await runSipp(lab, {
      ns: 'wan',
      scenario: 'uac-call.xml',
      local: PEER,
      port: 5060,
      mediaPort: nextMediaPort(),
      remote: OUTSIDE,
      service: 'alice',
      keys: { domain: 'example.test' },
      dir,
      tag: 'c1-uac',
    });
    const uasResult = await uas.done;
    expect(uac.code, describeRun('uac', uac) + agent.logs().slice(-8000)).toBe(0);
    expect(uasResult.code, describeRun('uas', uasResult)).toBe(0);
    const received = tracedMessages(uac.messages).filter((m) => m.dir === 'received');
    expect(received.map((m) => m.head)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^SIP\/2.0 200/)]),
    );
    for (const m of received) expect(m.headers, m.text).not.toContain('192.168.77.');
  });

  it('calls from the wan to a known user without binding get 480, to an unknown user 404', async () => {
    for (const [user, status] of [
      ['bob', 480],
      ['nobody', 404],
    ] as const) {
      const uac = await runSipp(lab, {
        ns: 'wan',
        scenario: `uac-expect-${status}.xml`,
        local: PEER,
        port: 5060,
        mediaPort: nextMediaPort(),
        remote: OUTSIDE,
        service: user,
        keys: { domain: 'example.test' },
        timeoutS: 10,
        dir,
        tag: `c2-${user}`,
      });
      expect(uac.code, describeRun(`INVITE ${user}`, uac)).toBe(0);
      const finals = tracedMessages(uac.messages).filter(
        (m) => m.dir === 'received' && /^SIP\/2.0 [2-6]/.test(m.head),
      );
      expect(finals.map((m) => m.head.slice(0, 11))).toEqual([`SIP/2.0 ${status}`]);
    }
  });

  it('a call from the wan forks to two phones registered as bob: one answers, the other gets CANCEL', async () => {
    for (const [phone, tag] of [
      [PHONE_B, 'c5-reg-b'],
      [PHONE_C, 'c5-reg-c'],
    ] as const) {
      const reg = await runSipp(lab, {
        ns: 'lan',
        scenario: 'register.xml',
        local: phone,
        port: 5060,
        mediaPort: nextMediaPort(),
        remote: INSIDE,
        service: 'bob',
        keys: { domain: 'example.test' },
        auth: { user: 'bob', password: 'bob-secret' },
        timeoutS: 10,
        dir,
        tag,
      });
      expect(reg.code, describeRun(`register bob from ${phone}`, reg)).toBe(0);
    }
    const regs = await agent.admin<{ registrations: unknown[] }>('/registrations');
    const bobs = JSON.stringify(regs);
    expect(bobs).toContain(`${PHONE_B}:5060`);
    expect(bobs).toContain(`${PHONE_C}:5060`);

    const answerer = await startSipp(lab, {
      ns: 'lan',
      scenario: 'uas-answer.xml',
      local: PHONE_B,
      port: 5060,
      mediaPort: nextMediaPort(),
      dir,
      tag: 'c5-answer',
    });
    const ringer = await startSipp(lab, {
      ns: 'lan',
      scenario: 'uas-ring-cancel.xml',
      local: PHONE_C,
      port: 5060,
      mediaPort: nextMediaPort(),
      dir,
      tag: 'c5-ring',
    });
    const uac = await runSipp(lab, {
      ns: 'wan',
      scenario: 'uac-call.xml',
      local: PEER,
      port: 5060,
      mediaPort: nextMediaPort(),
      remote: OUTSIDE,
      service: 'bob',
      keys: { domain: 'example.test' },
      dir,
      tag: 'c5-uac',
    });
    const [a, r] = await Promise.all([answerer.done, ringer.done]);
    const logs = `\n--- agent ---\n${agent.logs().slice(-8000)}`;
    expect(uac.code, describeRun('uac', uac) + logs).toBe(0);
    expect(a.code, describeRun('answering phone', a) + logs).toBe(0);
    expect(r.code, describeRun('ringing phone', r) + logs).toBe(0);
    const ringerGot = tracedMessages(r.messages).filter((m) => m.dir === 'received');
    expect(ringerGot.map((m) => m.head.split(' ')[0])).toEqual(['INVITE', 'CANCEL', 'ACK']);
    const uacGot = tracedMessages(uac.messages).filter((m) => m.dir === 'received');
    expect(uacGot.filter((m) => m.head.startsWith('SIP/2.0 200')).length).toBeGreaterThanOrEqual(2);
    expect(uacGot.some((m) => /^SIP\/2.0 487/.test(m.head))).toBe(false);
    for (const m of uacGot) expect(m.headers, m.text).not.toContain('192.168.77.');
  });
});
