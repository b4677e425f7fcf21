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
  const limitMs = ((o.timeoutS ?? 20) + 10) * 1000;
  const done = new Promise<SippResult>((resolve) => {
    // SIPp stops itself at -timeout; this is the backstop should it hang.
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(result(o, argv, code, output));
    });
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

  /** alice (SIPp on the lan, port 5070) registers with digest, as the example config has her. */
  async function registerAlice(tag: string): Promise<void> {
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
      tag,
    });
    expect(reg.code, describeRun('register', reg)).toBe(0);
  }

  it('a call from the wan to a registered phone completes; no inside address reaches the caller', async () => {
    await registerAlice('c1-reg');
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

  it('a call nobody refreshes is torn down when its session expires (RFC 4028): BYE to both, media closed', async () => {
    await registerAlice('st-reg');
    // Session-Expires 90 s (the RFC 4028 minimum), refresher the caller, who never refreshes.
    const uas = await startSipp(lab, {
      ns: 'lan',
      scenario: 'uas-session-timer.xml',
      local: PHONE,
      port: 5070,
      mediaPort: nextMediaPort(),
      timeoutS: 130,
      dir,
      tag: 'st-uas',
    });
    const started = Date.now();
    const uacRun = runSipp(lab, {
      ns: 'wan',
      scenario: 'uac-session-timer.xml',
      local: PEER,
      port: 5060,
      mediaPort: nextMediaPort(),
      remote: OUTSIDE,
      service: 'alice',
      keys: { domain: 'example.test' },
      timeoutS: 130,
      dir,
      tag: 'st-uac',
    });
    // While the call lasts, its media is anchored.
    await sleep(3_000);
    const during = await agent.admin<{ count: number }>('/sessions');
    expect(during.count).toBe(1);
    const uac = await uacRun;
    const uasResult = await uas.done;
    const tookS = (Date.now() - started) / 1000;
    expect(uac.code, describeRun('uac', uac) + agent.logs().slice(-6000)).toBe(0);
    expect(uasResult.code, describeRun('uas', uasResult)).toBe(0);
    // Torn down at the expiry (90 s after the 2xx), not before.
    expect(tookS).toBeGreaterThanOrEqual(89);
    const byes = tracedMessages(uac.messages).filter(
      (m) => m.dir === 'received' && m.head.startsWith('BYE '),
    );
    expect(byes).toHaveLength(1);
    expect(headerValues(byes[0]!.headers, 'Reason')).toEqual(['SIP;cause=408;text="session expired"']);
    expect((await agent.admin<{ count: number }>('/sessions')).count).toBe(0);
    expect((await agent.admin<{ count: number }>('/calls')).count).toBe(0);
  }, 150_000);

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

  it('in-dialog requests by Record-Route, reversed: the lan callee re-INVITEs or hangs up, the wan caller sees no inside address', async () => {
    // alice's binding (PHONE:5070) from the first test.
    for (const [uacScenario, uasScenario, tag] of [
      ['uac-reinvited.xml', 'uas-reinvites.xml', 'c6r-a'],
      ['uac-byed.xml', 'uas-byes.xml', 'c6r-b'],
    ] as const) {
      const uas = await startSipp(lab, {
        ns: 'lan',
        scenario: uasScenario,
        local: PHONE,
        port: 5070,
        mediaPort: nextMediaPort(),
        dir,
        tag: `${tag}-uas`,
      });
      const uac = await runSipp(lab, {
        ns: 'wan',
        scenario: uacScenario,
        local: PEER,
        port: 5060,
        mediaPort: nextMediaPort(),
        remote: OUTSIDE,
        service: 'alice',
        keys: { domain: 'example.test' },
        dir,
        tag: `${tag}-uac`,
      });
      const uasResult = await uas.done;
      const logs = `\n--- agent ---\n${agent.logs().slice(-8000)}`;
      expect(uac.code, describeRun('wan caller', uac) + logs).toBe(0);
      expect(uasResult.code, describeRun('lan callee', uasResult) + logs).toBe(0);
      const callerGot = tracedMessages(uac.messages).filter((m) => m.dir === 'received');
      expect(callerGot.some((m) => /^(INVITE|BYE) /.test(m.head))).toBe(true);
      expectOnlyOutside(uac, LAB_ADDR.fwOutside);
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

/** Headers of every message `r` received contain no inside address; Via/Contact/Record-Route name only `host`. */
function expectOnlyOutside(r: SippResult, host: string): void {
  const received = tracedMessages(r.messages).filter((m) => m.dir === 'received');
  expect(received.length).toBeGreaterThan(0);
  const at = new RegExp(`^(?:SIP/2.0/UDP |<?sip:(?:[^@>]+@)?)${host.replace(/\./g, '\\.')}:5060[;>]`);
  for (const m of received) {
    expect(m.headers, m.text).not.toContain('192.168.77.');
    if (!/^[A-Z]+ /.test(m.head)) continue; // the checks below are for requests the agent forwarded
    const vias = headerValues(m.headers, 'Via').flatMap((v) => v.split(/\s*,\s*(?=SIP\/)/));
    expect(vias.length, m.text).toBe(1);
    expect(vias[0], m.text).toMatch(at);
    for (const c of headerValues(m.headers, 'Contact')) expect(c, m.text).toMatch(at);
    for (const rr of headerValues(m.headers, 'Record-Route').flatMap((v) => v.split(/\s*,\s*(?=<)/)))
      expect(rr, m.text).toMatch(at);
  }
}

describe.skipIf(skip)(title('proxy with SIPp: calls from the site through the outbound proxy'), () => {
  let lab: Lab;
  let agent: LabAgent;
  let dir: string;
  const PROXY = PEER_B; // the outbound proxy is also the callee

  beforeAll(async () => {
    dir = tempDir();
    lab = await labUp();
    agent = await startLabAgent(
      lab,
      labAgentConfig(join(dir, 'state'), {
        log: { level: 'debug' },
        sip: { proxy: { outboundProxy: `${PROXY}:5060` } },
        policies: { authenticate: [] },
      }),
    );
  });
  afterAll(async () => {
    await agent?.stop();
    await lab?.down();
    if (dir !== undefined && process.env.SIPWALL_KEEP_SIPP_LOGS === undefined)
      rmSync(dir, { recursive: true, force: true });
  });

  /** A lan caller (PHONE) and a wan callee (the outbound proxy's address) with these scenarios. */
  async function call(uacScenario: string, uasScenario: string, tag: string) {
    const uas = await startSipp(lab, {
      ns: 'wan',
      scenario: uasScenario,
      local: PROXY,
      port: 5060,
      mediaPort: nextMediaPort(),
      dir,
      tag: `${tag}-uas`,
    });
    const uac = await runSipp(lab, {
      ns: 'lan',
      scenario: uacScenario,
      local: PHONE,
      port: 5062,
      mediaPort: nextMediaPort(),
      remote: INSIDE,
      service: 'carol',
      keys: { domain: 'far.example' },
      dir,
      tag: `${tag}-uac`,
    });
    const uasResult = await uas.done;
    const logs = `\n--- agent ---\n${agent.logs().slice(-8000)}`;
    expect(uac.code, describeRun('lan caller', uac) + logs).toBe(0);
    expect(uasResult.code, describeRun('wan callee', uasResult) + logs).toBe(0);
    return { uac, uas: uasResult };
  }

  it('a call from the lan to a foreign domain goes to the outbound proxy; it sees only the outside address', async () => {
    const { uas } = await call('uac-call.xml', 'uas-answer.xml', 'c3');
    const got = tracedMessages(uas.messages).filter((m) => m.dir === 'received');
    expect(got.map((m) => m.head.split(' ')[0])).toEqual(['INVITE', 'ACK', 'BYE']);
    expect(got[0]!.head).toBe('INVITE sip:carol@far.example SIP/2.0');
    expectOnlyOutside(uas, LAB_ADDR.fwOutside);
  });

  it('in-dialog requests by Record-Route: the wan callee re-INVITEs, then the lan caller hangs up', async () => {
    const { uac, uas } = await call('uac-reinvited.xml', 'uas-reinvites.xml', 'c6a');
    const callerGot = tracedMessages(uac.messages).filter((m) => m.dir === 'received');
    expect(callerGot.map((m) => m.head.split(' ')[0])).toContain('INVITE');
    const calleeGot = tracedMessages(uas.messages).filter((m) => m.dir === 'received');
    expect(calleeGot.filter((m) => !m.head.startsWith('SIP/')).map((m) => m.head.split(' ')[0])).toEqual([
      'INVITE',
      'ACK',
      'BYE',
    ]);
    expect(calleeGot.some((m) => m.head.startsWith('SIP/2.0 200'))).toBe(true);
    expectOnlyOutside(uas, LAB_ADDR.fwOutside);
  });

  it('in-dialog requests by Record-Route: the wan callee hangs up', async () => {
    const { uac, uas } = await call('uac-byed.xml', 'uas-byes.xml', 'c6b');
    const callerGot = tracedMessages(uac.messages).filter((m) => m.dir === 'received');
    expect(callerGot.some((m) => m.head.startsWith('BYE '))).toBe(true);
    const calleeGot = tracedMessages(uas.messages).filter((m) => m.dir === 'received');
    expect(calleeGot.some((m) => /^SIP\/2.0 200 .*/.test(m.head))).toBe(true);
    expectOnlyOutside(uas, LAB_ADDR.fwOutside);
    const calls = await agent.admin<{ count: number }>('/calls');
    expect(calls.count).toBe(0);
  });
});

/**
 * Sends SIP messages one at a time from `bind` to `host:port` and prints, per message, the status
 * lines that came back with its Call-ID: until a final response or `waitMs`. A final response to
 * an INVITE is ACKed (same branch, To with the response's tag). `$PORT` becomes the client's port.
 */
const UDP_SIP_CLIENT = `
const [bind, host, port, json] = process.argv.slice(1);
const msgs = JSON.parse(json);
const s = require('node:dgram').createSocket('udp4');
const got = [];
let cur = { callId: '', lines: [], finals: [] };
const header = (text, name) => (new RegExp('^' + name + ':\\s*(.*)$', 'mi').exec(text) || [])[1]?.trim();
s.on('message', (m) => {
  const text = m.toString('latin1');
  if (header(text, 'Call-ID') !== cur.callId) return;
  const line = text.split('\\r\\n')[0];
  cur.lines.push(line);
  if (/^SIP\\/2\\.0 [2-6]/.test(line)) cur.finals.push(text);
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
s.bind(0, bind, async () => {
  const own = String(s.address().port);
  for (const m of msgs) {
    const text = m.text.split('$PORT').join(own);
    cur = { callId: header(text, 'Call-ID'), lines: [], finals: [] };
    s.send(Buffer.from(text, 'latin1'), Number(port), host);
    const t0 = Date.now();
    while (Date.now() - t0 < m.waitMs && cur.finals.length === 0) await sleep(20);
    const final = cur.finals[0];
    if (final !== undefined && text.startsWith('INVITE ')) {
      const lines = text.split('\\r\\n');
      const ack = [
        lines[0].replace(/^INVITE/, 'ACK'),
        'Via: ' + header(text, 'Via'),
        'Max-Forwards: 70',
        'From: ' + header(text, 'From'),
        'To: ' + header(final, 'To'),
        'Call-ID: ' + cur.callId,
        'CSeq: ' + header(text, 'CSeq').split(' ')[0] + ' ACK',
        'Content-Length: 0',
        '',
        '',
      ].join('\\r\\n');
      s.send(Buffer.from(ack, 'latin1'), Number(port), host);
    }
    await sleep(100);
    got.push(cur.lines);
  }
  console.log(JSON.stringify(got));
  process.exit(0);
});
setTimeout(() => { console.log(JSON.stringify(got)); process.exit(2); }, 25000);
`;

/** The agent's loop hash of a request (agent/src/proxy/loop.ts: FNV-1a of R-URI|from tag|to tag|Call-ID|CSeq). */
function loopHash(ruri: string, fromTag: string, toTag: string, callId: string, cseq: number): string {
  const text = `${ruri}|${fromTag}|${toTag}|${callId}|${cseq}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}

function sipRequest(lines: readonly string[]): string {
  return `${lines.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`;
}

describe.skipIf(skip)(title('proxy with SIPp: RFC 3263 failover and bad input'), () => {
  let lab: Lab;
  let agent: LabAgent;
  let dir: string;
  const DEAD = PEER_C; // 203.0.113.12: nothing listens
  const LIVE = PEER_D; // 203.0.113.13: the SIPp UAS
  const records: DnsRecord[] = [
    {
      type: 'NAPTR',
      name: 'srv.example',
      order: 10,
      preference: 10,
      flags: 'S',
      service: 'SIP+D2U',
      replacement: '_sip._udp.srv.example',
    },
    { type: 'SRV', name: '_sip._udp.srv.example', target: 'dead.srv.example', port: 5060, priority: 10 },
    { type: 'SRV', name: '_sip._udp.srv.example', target: 'live.srv.example', port: 5060, priority: 20 },
    { type: 'A', name: 'dead.srv.example', address: DEAD },
    { type: 'A', name: 'live.srv.example', address: LIVE },
    // A domain that resolves to the agent's own inside address: a request for it loops.
    { type: 'A', name: 'loop.example', address: LAB_ADDR.fwInside },
  ];
  const T1_MS = 100; // Timer B = 64 T1 = 6.4 s before the dead target is given up

  beforeAll(async () => {
    dir = tempDir();
    lab = await labUp({ dnsRecords: records });
    agent = await startLabAgent(
      lab,
      labAgentConfig(join(dir, 'state'), {
        log: { level: 'debug' },
        sip: { timers: { t1Ms: T1_MS, t2Ms: 4000, t4Ms: 5000 } },
        policies: { authenticate: [] },
      }),
    );
  });
  afterAll(async () => {
    await agent?.stop();
    await lab?.down();
    if (dir !== undefined && process.env.SIPWALL_KEEP_SIPP_LOGS === undefined)
      rmSync(dir, { recursive: true, force: true });
  });

  it('a call to a domain with NAPTR → SRV fails over from a dead target to the live one', async () => {
    const uas = await startSipp(lab, {
      ns: 'wan',
      scenario: 'uas-answer.xml',
      local: LIVE,
      port: 5060,
      mediaPort: nextMediaPort(),
      timeoutS: 30,
      dir,
      tag: 'c4-uas',
    });
    const t0 = Date.now();
    const uac = await runSipp(lab, {
      ns: 'lan',
      scenario: 'uac-call.xml',
      local: PHONE,
      port: 5064,
      mediaPort: nextMediaPort(),
      remote: INSIDE,
      service: 'dave',
      keys: { domain: 'srv.example' },
      timeoutS: 30,
      dir,
      tag: 'c4-uac',
    });
    const elapsed = Date.now() - t0;
    const uasResult = await uas.done;
    const logs = `\n--- agent ---\n${agent.logs().slice(-8000)}`;
    expect(uac.code, describeRun('lan caller', uac) + logs).toBe(0);
    expect(uasResult.code, describeRun('live target', uasResult) + logs).toBe(0);
    // The dead target was tried first (and given up by Timer B or an ICMP error), then the live one.
    const failover = agent
      .logs()
      .split('\n')
      .filter((l) => l.includes('target failed: trying the next one'));
    expect(failover.length, agent.logs().slice(-6000)).toBe(1);
    expect(failover[0]).toContain(`"address":"${LIVE}"`);
    expect(elapsed).toBeLessThan(64 * T1_MS + 8_000);
    const dns = readFileSync(join(lab.stateDir, 'dnsmasq.log'), 'utf8');
    expect(dns).toMatch(/query\[NAPTR\] srv\.example/);
    expect(dns).toMatch(/query\[SRV\] _sip\._udp\.srv\.example/);
    expectOnlyOutside(uasResult, LAB_ADDR.fwOutside);
  });

  it('bad input over the wire: loop 482, Max-Forwards 0 → 483, bad Route 400, stray response dropped, unknown CANCEL 481', async () => {
    const from = PHONE;
    const base = (method: string, ruri: string, callId: string, extra: string[] = [], cseq = 1) => [
      `${method} ${ruri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${from}:$PORT;branch=z9hG4bK-${callId};rport`,
      ...extra,
      'Max-Forwards: 70',
      `From: <sip:alice@example.test>;tag=t-${callId}`,
      '<sip:alice@example.test>'.replace(/^/, 'To: '),
      `Call-ID: ${callId}@lab`,
      `CSeq: ${cseq} ${method}`,
    ];
    const loopRuri = 'sip:bob@example.test';
    const hash = loopHash(loopRuri, 't-bad-loop', '', 'bad-loop@lab', 1);
    const cases: { name: string; text: string; waitMs: number; expect: string | undefined }[] = [
      {
        name: 'a request carrying the agent’s own Via for it (loop)',
        text: sipRequest(
          base('INVITE', loopRuri, 'bad-loop', [
            `Via: SIP/2.0/UDP ${LAB_ADDR.fwInside}:5060;branch=z9hG4bK-sw${hash}.earlier`,
          ]),
        ),
        waitMs: 3000,
        expect: 'SIP/2.0 482',
      },
      {
        name: 'a request for a domain that resolves to the agent itself (loop through DNS)',
        text: sipRequest(base('INVITE', 'sip:carol@loop.example', 'bad-dnsloop')),
        waitMs: 5000,
        expect: 'SIP/2.0 482',
      },
      {
        name: 'Max-Forwards 0',
        text: sipRequest(base('INVITE', 'sip:bob@example.test', 'bad-mf0')).replace(
          'Max-Forwards: 70',
          'Max-Forwards: 0',
        ),
        waitMs: 3000,
        expect: 'SIP/2.0 483',
      },
      {
        name: 'an unparseable Route header',
        text: sipRequest(
          base('INVITE', 'sip:bob@example.test', 'bad-route', ['Route: <sip:203.0.113.10;lr']),
        ),
        waitMs: 3000,
        expect: 'SIP/2.0 400',
      },
      {
        name: 'a response matching no transaction',
        text: sipRequest([
          'SIP/2.0 200 OK',
          `Via: SIP/2.0/UDP ${LAB_ADDR.fwInside}:5060;branch=z9hG4bKnosuchtransaction`,
          `Via: SIP/2.0/UDP ${from}:$PORT;branch=z9hG4bK-stray1`,
          'From: <sip:alice@example.test>;tag=t-stray1',
          'To: <sip:bob@example.test>;tag=x',
          'Call-ID: stray1@lab',
          'CSeq: 1 INVITE',
        ]),
        waitMs: 1000,
        expect: undefined,
      },
      {
        name: 'a response matching no transaction, with a branch in the agent’s own format',
        text: sipRequest([
          'SIP/2.0 200 OK',
          `Via: SIP/2.0/UDP ${LAB_ADDR.fwInside}:5060;branch=z9hG4bK-sw0.nosuchtransaction`,
          `Via: SIP/2.0/UDP ${from}:$PORT;branch=z9hG4bK-stray2`,
          'From: <sip:alice@example.test>;tag=t-stray2',
          'To: <sip:bob@example.test>;tag=x',
          'Call-ID: stray2@lab',
          'CSeq: 1 INVITE',
        ]),
        waitMs: 1000,
        expect: undefined,
      },
      {
        name: 'CANCEL for an unknown transaction',
        text: sipRequest(base('CANCEL', 'sip:bob@example.test', 'bad-cancel')),
        waitMs: 3000,
        expect: 'SIP/2.0 481',
      },
    ];
    const r = await lab.exec(
      'lan',
      process.execPath,
      ['-e', UDP_SIP_CLIENT, from, LAB_ADDR.fwInside, '5060', JSON.stringify(cases)],
      { timeoutMs: 30_000, check: false },
    );
    expect(r.code, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as string[][];
    const summary = cases.map((c, i) => ({
      name: c.name,
      final: got[i]?.find((l) => /^SIP\/2\.0 [2-6]/.test(l))?.slice(0, 11),
      all: got[i],
    }));
    const logs = `\n--- agent ---\n${agent.logs().slice(-6000)}`;
    expect(
      summary.map((s) => ({ name: s.name, final: s.final })),
      JSON.stringify(summary, null, 1) + logs,
    ).toEqual(cases.map((c) => ({ name: c.name, final: c.expect })));
    expect(got[4], 'nothing answers or forwards a stray response').toEqual([]);
    expect(got[5], 'nothing answers or forwards a stray response').toEqual([]);
    const health = await agent.admin<{ status: string }>('/healthz');
    expect(health.status).toBe('ok');
    expect(agent.process.exitCode).toBeNull();
  });
});
