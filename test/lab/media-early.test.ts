/**
 * Early media and forked early dialogs through the real agent in the network-namespace lab (issue
 * 10): SIPp does the signalling, small UDP parties of the test's own (one socket each, in the
 * lab's namespaces, on the ports the SDPs name) play and record the media, and the kernel driver's
 * nftables pinholes carry it.
 *
 * - Forked call (`media.earlyMedia: answer`, the default): a caller in the wan calls bob, who is
 *   registered from two phones. One fork answers 183 with SDP at once and plays early media, the
 *   other answers 183 with SDP 2.5 s later (the last answer: the caller must hear only it from
 *   then on) and 200 OK 2.5 s after that. Early RTP crosses the firewall in the kernel before the
 *   200; after the 200 the kernel holds nothing of the losing fork.
 * - Forked call whose last answer rejects: the late fork answers 183 with SDP, then 486 while the
 *   early fork still rings; the stream goes back to the early fork's answer (the caller hears it
 *   again before its 200; the rejected fork, still playing, is dropped by the kernel).
 * - `media.earlyMedia: offer`: the callee plays early media before any SDP answer reaches the
 *   agent (its 180 has none) and the caller hears it; the caller's own packets wait for the 183;
 *   the callee's 486 closes every pinhole.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LAB_ADDR, type Lab, type LabNs, labSkipReason, labUp } from '../../infra/lab/lab.js';
import { type LabAgent, labAgentConfig, startLabAgent } from '../helpers/lab-agent.js';
import { poll, sleep } from '../helpers/poll.js';

const SIPP_DIR = fileURLToPath(new URL('./sipp/', import.meta.url));

function hasSipp(): boolean {
  try {
    execFileSync('sipp', ['-v'], { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

const skip = labSkipReason() ?? (hasSipp() ? undefined : 'needs sipp (Debian: sipp)');
const title = (name: string) => `${name}${skip ? ` (skipped: ${skip})` : ''}`;

const [PHONE, PHONE_B, PHONE_C] = LAB_ADDR.phones as [string, string, string];
const PEER = LAB_ADDR.peers[0] as string;
const INSIDE = `${LAB_ADDR.fwInside}:5060`;
const OUTSIDE = `${LAB_ADDR.fwOutside}:5060`;
const PORT_MIN = 32_000;
const PORT_MAX = 32_999;

// ---- SIPp -------------------------------------------------------------------------------------

interface Sipp {
  readonly tag: string;
  readonly argv: readonly string[];
  readonly done: Promise<{ code: number | null; output: string }>;
}

let sippPort = 17_000;

/** Starts SIPp in `ns` (a UAC when `remote` is given) and waits until its SIP socket is bound. */
async function sipp(
  lab: Lab,
  dir: string,
  o: {
    ns: LabNs;
    scenario: string;
    tag: string;
    local: string;
    port: number;
    remote?: string;
    service?: string;
    rtp?: number;
    auth?: { user: string; password: string };
  },
): Promise<Sipp> {
  sippPort += 10;
  const argv: string[] = [];
  if (o.remote !== undefined) argv.push(o.remote);
  argv.push('-sf', join(SIPP_DIR, o.scenario), '-i', o.local, '-p', String(o.port));
  argv.push('-mi', o.local, '-mp', String(sippPort), '-t', 'u1', '-nostdin', '-m', '1', '-l', '1');
  argv.push('-timeout', '30s', '-timeout_error', '-recv_timeout', '20000');
  argv.push('-key', 'domain', 'example.test');
  if (o.rtp !== undefined) argv.push('-key', 'rtp', String(o.rtp));
  if (o.service !== undefined) argv.push('-s', o.service);
  if (o.auth !== undefined) argv.push('-au', o.auth.user, '-ap', o.auth.password);
  argv.push('-trace_msg', '-message_file', join(dir, `${o.tag}.msg`));
  argv.push('-trace_err', '-error_file', join(dir, `${o.tag}.err`));
  const child = lab.spawn(o.ns, 'sipp', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const done = new Promise<{ code: number | null; output: string }>((resolve) => {
    const backstop = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.once('exit', (code) => {
      clearTimeout(backstop);
      const read = (f: string) => {
        try {
          return readFileSync(join(dir, f), 'utf8').slice(-5000);
        } catch {
          return '';
        }
      };
      resolve({
        code,
        output: `${argv.join(' ')}\n--- output ---\n${output}\n--- errors ---\n${read(`${o.tag}.err`)}\n--- messages ---\n${read(`${o.tag}.msg`)}`,
      });
    });
  });
  for (let i = 0; i < 50; i++) {
    // Done already (a registration is quick): its result is in `done`.
    if (child.exitCode !== null || child.signalCode !== null) return { tag: o.tag, argv, done };
    const ss = await lab.exec(o.ns, 'ss', ['-Hlun', 'src', `${o.local}:${o.port}`], { check: false });
    if (ss.stdout.trim() !== '') return { tag: o.tag, argv, done };
    await sleep(100);
  }
  throw new Error(`sipp ${o.scenario} did not start:\n${output}`);
}

// ---- UDP parties: one socket each, plays `label:seq` every 20 ms, records what arrives ---------

const PARTY_SCRIPT = `
const dgram = require('node:dgram');
const s = dgram.createSocket('udp4');
let timer;
let seq = 0;
s.on('message', (m, r) => process.stdout.write('R ' + Date.now() + ' ' + m + ' ' + r.address + ':' + r.port + '\\n'));
s.bind(Number(process.argv[2]), process.argv[1], () => process.stdout.write('READY\\n'));
require('node:readline').createInterface({ input: process.stdin }).on('line', (l) => {
  const [cmd, label, host, port] = l.split(' ');
  if (cmd === 'send') {
    clearInterval(timer);
    timer = setInterval(() => s.send(label + ':' + seq++, Number(port), host), 20);
  }
  if (cmd === 'stop') clearInterval(timer);
  if (cmd === 'exit') process.exit(0);
});
setTimeout(() => process.exit(0), 90000);
`;

interface Heard {
  readonly at: number;
  readonly label: string;
  readonly from: string;
}

class UdpParty {
  readonly heard: Heard[] = [];
  private constructor(private readonly child: ChildProcess) {}

  static async start(lab: Lab, ns: LabNs, address: string, port: number): Promise<UdpParty> {
    const child = lab.spawn(ns, process.execPath, ['-e', PARTY_SCRIPT, address, String(port)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const party = new UdpParty(child);
    const ready = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`udp party ${address}:${port} not ready`)), 10_000);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line === 'READY') {
          clearTimeout(t);
          resolve();
          return;
        }
        const [kind, at, data, from] = line.split(' ');
        if (kind === 'R')
          party.heard.push({ at: Number(at), label: (data ?? '').split(':')[0]!, from: from! });
      });
    });
    await ready;
    return party;
  }

  send(label: string, host: string, port: number): void {
    this.child.stdin?.write(`send ${label} ${host} ${port}\n`);
  }

  stop(): void {
    this.child.stdin?.write('stop\n');
  }

  /** Ends the party (its socket is free again once this resolves). */
  async exit(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin?.write('exit\n');
    await Promise.race([exited, sleep(3_000)]);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  /** Datagrams labelled `label` that arrived in [from, to). */
  count(label: string, from = 0, to = Number.POSITIVE_INFINITY): number {
    return this.heard.filter((h) => h.label === label && h.at >= from && h.at < to).length;
  }
}

// ---- the agent's view and the kernel's --------------------------------------------------------

interface SessionsView {
  sessions: {
    callId: string;
    streams: {
      sides: { interface: string; local?: { port: number }; peer?: { address: string; port: number } }[];
      counters?: { aToB: { packets: number }; bToA: { packets: number }; dropped: number };
    }[];
  }[];
}

interface StreamView {
  insideLocal: number | undefined;
  outsideLocal: number | undefined;
  insidePeer: string | undefined;
  dropped: number;
}

async function streamView(agent: LabAgent): Promise<StreamView | undefined> {
  const v = await agent.admin<SessionsView>('/sessions');
  const st = v.sessions[0]?.streams[0];
  if (st === undefined) return undefined;
  const inside = st.sides.find((s) => s.interface === 'inside');
  const outside = st.sides.find((s) => s.interface === 'outside');
  return {
    insideLocal: inside?.local?.port,
    outsideLocal: outside?.local?.port,
    insidePeer: inside?.peer === undefined ? undefined : `${inside.peer.address}:${inside.peer.port}`,
    dropped: st.counters?.dropped ?? 0,
  };
}

/** The media objects of the fw's `inet sipwall` table, as `nft list` prints them. */
async function mediaRuleset(lab: Lab): Promise<string> {
  const r = await lab.exec('fw', 'nft', ['list', 'table', 'inet', 'sipwall']);
  return r.stdout;
}

/** Pinholes in the kernel (elements of `media_pin`). */
async function kernelPinholes(lab: Lab): Promise<number> {
  const r = await lab.exec('fw', 'nft', ['-j', 'list', 'set', 'inet', 'sipwall', 'media_pin'], {
    check: false,
  });
  if (r.code !== 0) return 0;
  const doc = JSON.parse(r.stdout) as { nftables: { set?: { elem?: unknown[] } }[] };
  return doc.nftables.reduce((n, o) => n + (o.set?.elem?.length ?? 0), 0);
}

/** `Udp: InDatagrams` of the fw namespace (datagrams delivered to its user space). */
async function udpInDatagrams(lab: Lab): Promise<number> {
  const r = await lab.exec('fw', 'cat', ['/proc/net/snmp']);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('Udp:'));
  const names = (lines[0] ?? '').split(/\s+/);
  const values = (lines[1] ?? '').split(/\s+/);
  return Number(values[names.indexOf('InDatagrams')]);
}

async function register(lab: Lab, dir: string, user: 'alice' | 'bob', phone: string): Promise<void> {
  const reg = await sipp(lab, dir, {
    ns: 'lan',
    scenario: 'register.xml',
    tag: `reg-${user}-${phone}`,
    local: phone,
    port: 5060,
    remote: INSIDE,
    service: user,
    auth: { user, password: `${user}-secret` },
  });
  const r = await reg.done;
  expect(r.code, r.output).toBe(0);
}

// ---- suites -----------------------------------------------------------------------------------

describe.skipIf(skip)(title('early media through kernel pinholes (SIPp, nftables driver)'), () => {
  let lab: Lab;
  let dir: string;
  let agent: LabAgent | undefined;
  const parties: UdpParty[] = [];

  const startAgent = async (earlyMedia: 'answer' | 'offer', name: string) => {
    await agent?.stop();
    agent = await startLabAgent(
      lab,
      labAgentConfig(join(dir, `state-${name}`), {
        log: { level: 'debug' },
        media: { driver: 'nftables', portMin: PORT_MIN, portMax: PORT_MAX, earlyMedia },
      }),
    );
    expect(agent.logs()).toContain('"driver":"nftables"');
    return agent;
  };

  const party = async (ns: LabNs, address: string, port: number) => {
    const p = await UdpParty.start(lab, ns, address, port);
    parties.push(p);
    return p;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sipwall-media-early-'));
    lab = await labUp();
  });

  afterEach(async () => {
    await Promise.all(parties.splice(0).map((p) => p.exit()));
  });

  afterAll(async () => {
    await agent?.stop();
    await lab?.down();
    if (dir !== undefined && process.env.SIPWALL_KEEP_SIPP_LOGS === undefined)
      rmSync(dir, { recursive: true, force: true });
  });

  /**
   * bob answers from two phones. The early fork (PHONE_B) answers 183 with SDP at once, the late
   * fork (PHONE_C) 2.5 s later: from then on the caller hears only the late one (the last answer
   * wins). Then the 200 comes from the late fork (`late` wins) or from the early one (`early` wins:
   * the media goes back to it); either way the other fork is CANCELled and the kernel keeps
   * nothing of it.
   */
  for (const winnerIs of ['late', 'early'] as const) {
    it(`forked call, the ${winnerIs} fork sends the 200: early media through the kernel, the last answer wins, after the 200 only the winner’s pinhole is left`, async () => {
      const a = await startAgent('answer', `fork-${winnerIs}`);
      await register(lab, dir, 'bob', PHONE_B);
      await register(lab, dir, 'bob', PHONE_C);

      const EARLY_RTP = 31_000;
      const LATE_RTP = 31_002;
      const CALLER_RTP = 31_004;
      const early = await party('lan', PHONE_B, EARLY_RTP);
      const late = await party('lan', PHONE_C, LATE_RTP);
      const caller = await party('wan', PEER, CALLER_RTP);
      const earlyUas = await sipp(lab, dir, {
        ns: 'lan',
        scenario: winnerIs === 'late' ? 'uas-early-183-cancel.xml' : 'uas-early-183-then-200.xml',
        tag: `fork-${winnerIs}-b`,
        local: PHONE_B,
        port: 5060,
        rtp: EARLY_RTP,
      });
      const lateUas = await sipp(lab, dir, {
        ns: 'lan',
        scenario: winnerIs === 'late' ? 'uas-early-183-answer.xml' : 'uas-early-late-183-cancel.xml',
        tag: `fork-${winnerIs}-c`,
        local: PHONE_C,
        port: 5060,
        rtp: LATE_RTP,
      });
      const udpBefore = await udpInDatagrams(lab);
      const uac = await sipp(lab, dir, {
        ns: 'wan',
        scenario: 'uac-early-call.xml',
        tag: `fork-${winnerIs}-caller`,
        local: PEER,
        port: 5060,
        remote: OUTSIDE,
        service: 'bob',
        rtp: CALLER_RTP,
      });

      // The early fork's 183 crossed: its early dialog has the stream (no 200 yet).
      const first = await poll(
        () => streamView(a),
        (v) => v?.insidePeer === `${PHONE_B}:${EARLY_RTP}` && v.outsideLocal !== undefined,
        5_000,
      );
      expect(first?.insidePeer, a.logs().slice(-6000)).toBe(`${PHONE_B}:${EARLY_RTP}`);
      const inPort = first!.insideLocal!;
      const outPort = first!.outsideLocal!;
      early.send('E', LAB_ADDR.fwInside, inPort);
      caller.send('X', LAB_ADDR.fwOutside, outPort);
      // The late fork plays too, before its own 183: the kernel's strict source keeps it out
      // (the early fork's flow has the pinhole) until its answer moves the stream.
      await sleep(100);
      const lateFrom = Date.now();
      late.send('L', LAB_ADDR.fwInside, inPort);

      // The late fork's 183 (2.5 s after the INVITE): the stream moves to it.
      // The last instant the agent still had the early fork's answer (taken before each look).
      let earlyUntil = lateFrom;
      const second = await poll(
        async () => {
          const at = Date.now();
          const v = await streamView(a);
          if (v?.insidePeer === `${PHONE_B}:${EARLY_RTP}`) earlyUntil = at;
          return v;
        },
        (v) => v?.insidePeer === `${PHONE_C}:${LATE_RTP}`,
        6_000,
      );
      const switchedAt = Date.now();
      expect(second?.insidePeer, a.logs().slice(-6000)).toBe(`${PHONE_C}:${LATE_RTP}`);

      // The 200 confirms one dialog; the agent's log line says when.
      await poll(
        async () => a.logs(),
        (l) => l.includes('forked call confirmed'),
        6_000,
      );
      const line = a
        .logs()
        .split('\n')
        .find((l) => l.includes('forked call confirmed'));
      expect(line, a.logs().slice(-6000)).toBeDefined();
      const confirmedAt = (JSON.parse(line!) as { time: number }).time;
      // Nothing of the losing fork stays in the kernel: no element names its address.
      const [winnerAddr, winnerRtp, loserAddr] =
        winnerIs === 'late' ? [PHONE_C, LATE_RTP, PHONE_B] : [PHONE_B, EARLY_RTP, PHONE_C];
      const ruleset = await mediaRuleset(lab);
      expect(ruleset).toContain(`${winnerAddr} . ${winnerRtp}`);
      expect(ruleset).not.toContain(loserAddr);
      expect(await kernelPinholes(lab)).toBe(1);
      await sleep(1_000);
      const afterConfirm = await streamView(a);
      for (const p of [early, late, caller]) p.stop();

      const results = await Promise.all([uac.done, earlyUas.done, lateUas.done]);
      for (const r of results) expect(r.code, `${r.output}\n--- agent ---\n${a.logs().slice(-6000)}`).toBe(0);

      // Early media of the early fork reached the caller through the firewall before any 200,
      // from the agent's outside port; the caller's media reached that fork too.
      expect(caller.count('E', 0, switchedAt)).toBeGreaterThanOrEqual(20);
      expect(caller.heard.every((h) => h.from === `${LAB_ADDR.fwOutside}:${outPort}`)).toBe(true);
      expect(early.count('X', 0, switchedAt)).toBeGreaterThanOrEqual(20);
      // Before its 183 the late fork was not heard although it played.
      expect(earlyUntil - lateFrom).toBeGreaterThan(200);
      expect(caller.count('L', 0, earlyUntil)).toBe(0);
      // Once the late fork answered, and until the 200, the caller hears it and only it.
      expect(caller.count('E', switchedAt + 300, confirmedAt)).toBe(0);
      expect(caller.count('L', switchedAt, confirmedAt)).toBeGreaterThanOrEqual(10);
      expect(late.count('X', switchedAt, confirmedAt)).toBeGreaterThanOrEqual(10);
      expect(early.count('X', switchedAt + 300, confirmedAt)).toBe(0);
      // After the 200: the winner only, both ways.
      const [W, Lo, winnerParty, loserParty] =
        winnerIs === 'late' ? (['L', 'E', late, early] as const) : (['E', 'L', early, late] as const);
      expect(caller.count(W, confirmedAt + 300)).toBeGreaterThanOrEqual(20);
      expect(caller.count(Lo, confirmedAt + 300)).toBe(0);
      expect(winnerParty.count('X', confirmedAt + 300)).toBeGreaterThanOrEqual(20);
      expect(loserParty.count('X', confirmedAt + 300)).toBe(0);
      // The loser kept sending: the kernel dropped it as a stranger and counted it.
      expect(afterConfirm?.dropped).toBeGreaterThan(10);
      // RTP stayed in the kernel: the fw's user space got the SIP messages only.
      const rtp = caller.heard.length + early.heard.length + late.heard.length;
      const udpDelta = (await udpInDatagrams(lab)) - udpBefore;
      expect(rtp).toBeGreaterThan(200);
      expect(udpDelta).toBeLessThan(60);
      console.log(
        `[media-early fork, ${winnerIs} wins] caller heard early fork ${caller.count('E', 0, switchedAt)} before the late 183, ` +
          `late fork ${caller.count('L', switchedAt, confirmedAt)} / early ${caller.count('E', switchedAt + 300, confirmedAt)} between it and the 200, ` +
          `winner ${caller.count(W, confirmedAt + 300)} / loser ${caller.count(Lo, confirmedAt + 300)} after; ` +
          `kernel drops ${afterConfirm?.dropped}; ${rtp} datagrams delivered, fw Udp InDatagrams +${udpDelta}`,
      );
      // The BYE closed the call's pinhole.
      expect(
        await poll(
          () => kernelPinholes(lab),
          (n) => n === 0,
          3_000,
        ),
      ).toBe(0);
    });
  }

  /**
   * bob answers from two phones. The early fork (PHONE_B) answers 183 with SDP at once and 200 OK
   * after 8 s; the late fork (PHONE_C) answers 183 with SDP after 1.5 s (it takes the stream) and
   * 486 after 4.5 s, and keeps playing. From the 486 on the caller hears the early fork again, not
   * the rejected one, and the early fork gets the caller's media.
   */
  it('forked call, the last early answer rejects (486) while the other fork rings: the stream goes back to the ringing fork before its 200', async () => {
    const a = await startAgent('answer', 'fork-busy');
    await register(lab, dir, 'bob', PHONE_B);
    await register(lab, dir, 'bob', PHONE_C);

    const EARLY_RTP = 31_020;
    const LATE_RTP = 31_022;
    const CALLER_RTP = 31_024;
    const early = await party('lan', PHONE_B, EARLY_RTP);
    const late = await party('lan', PHONE_C, LATE_RTP);
    const caller = await party('wan', PEER, CALLER_RTP);
    const earlyUas = await sipp(lab, dir, {
      ns: 'lan',
      scenario: 'uas-early-183-then-200-slow.xml',
      tag: 'fork-busy-b',
      local: PHONE_B,
      port: 5060,
      rtp: EARLY_RTP,
    });
    const lateUas = await sipp(lab, dir, {
      ns: 'lan',
      scenario: 'uas-early-late-183-busy.xml',
      tag: 'fork-busy-c',
      local: PHONE_C,
      port: 5060,
      rtp: LATE_RTP,
    });
    const uac = await sipp(lab, dir, {
      ns: 'wan',
      scenario: 'uac-early-call.xml',
      tag: 'fork-busy-caller',
      local: PEER,
      port: 5060,
      remote: OUTSIDE,
      service: 'bob',
      rtp: CALLER_RTP,
    });

    const EARLY = `${PHONE_B}:${EARLY_RTP}`;
    const first = await poll(
      () => streamView(a),
      (v) => v?.insidePeer === EARLY && v.outsideLocal !== undefined,
      5_000,
    );
    expect(first?.insidePeer, a.logs().slice(-6000)).toBe(EARLY);
    const inPort = first!.insideLocal!;
    const outPort = first!.outsideLocal!;
    early.send('E', LAB_ADDR.fwInside, inPort);
    caller.send('X', LAB_ADDR.fwOutside, outPort);
    late.send('L', LAB_ADDR.fwInside, inPort);

    // The late fork's 183 moves the stream to it (the caller's recording shows when), its 486
    // moves it back. The agent's log lines say when (its clock is the test's: same host); the
    // /sessions view is too slow on a loaded host to time the windows by.
    const logged = async (text: string) => {
      const logs = await poll(
        async () => a.logs(),
        (l) => l.includes(text),
        8_000,
      );
      const line = logs.split('\n').find((l) => l.includes(text));
      expect(line, a.logs().slice(-6000)).toBeDefined();
      return JSON.parse(line!) as { time: number; moved?: boolean };
    };
    // Its 486 (the early fork still rings): the stream goes back to the early fork's answer, at
    // the 486 and not only at the 200.
    const failed = await logged('a fork failed before the 2xx');
    expect(failed.moved).toBe(true);
    expect((await streamView(a))?.insidePeer).toBe(EARLY);
    // The early fork's 200 confirms its dialog.
    const confirmed = await logged('forked call confirmed');
    const failedAt = failed.time;
    const confirmedAt = confirmed.time;
    const ruleset = await mediaRuleset(lab);
    expect(ruleset).toContain(`${PHONE_B} . ${EARLY_RTP}`);
    expect(ruleset).not.toContain(PHONE_C);
    expect(await kernelPinholes(lab)).toBe(1);
    // Read before the caller's BYE (3 s after the 200) ends the session.
    const atConfirm = await streamView(a);
    await sleep(1_000);
    for (const p of [early, late, caller]) p.stop();

    const results = await Promise.all([uac.done, earlyUas.done, lateUas.done]);
    for (const r of results) expect(r.code, `${r.output}\n--- agent ---\n${a.logs().slice(-6000)}`).toBe(0);

    // While the late fork had the stream (from the first of its packets the caller heard): it and
    // only it.
    const lateFrom = caller.heard.find((h) => h.label === 'L')?.at ?? Number.POSITIVE_INFINITY;
    expect(failedAt - lateFrom).toBeGreaterThan(600);
    expect(caller.count('L', lateFrom, failedAt)).toBeGreaterThanOrEqual(10);
    expect(caller.count('E', lateFrom + 300, failedAt)).toBe(0);
    // From its 486 until the 200: the early fork again, both ways; the rejected fork is not heard
    // although it kept playing.
    expect(confirmedAt - failedAt).toBeGreaterThan(600);
    expect(caller.count('E', failedAt + 300, confirmedAt)).toBeGreaterThanOrEqual(10);
    expect(caller.count('L', failedAt + 300)).toBe(0);
    expect(early.count('X', failedAt + 300, confirmedAt)).toBeGreaterThanOrEqual(10);
    expect(late.count('X', failedAt + 300)).toBe(0);
    // After the 200: still the early fork only; the rejected fork's packets were dropped.
    expect(caller.count('E', confirmedAt + 300)).toBeGreaterThanOrEqual(20);
    expect(atConfirm?.dropped).toBeGreaterThan(10);
    console.log(
      `[media-early fork, late rejects] caller heard late fork ${caller.count('L', lateFrom, failedAt)} while it had the stream; ` +
        `after its 486: early fork ${caller.count('E', failedAt + 300, confirmedAt)} / rejected ${caller.count('L', failedAt + 300, confirmedAt)} ` +
        `before the 200 (${confirmedAt - failedAt} ms), early ${caller.count('E', confirmedAt + 300)} after; ` +
        `early fork got ${early.count('X', failedAt + 300, confirmedAt)} of the caller's before the 200; kernel drops ${atConfirm?.dropped}`,
    );
    expect(
      await poll(
        () => kernelPinholes(lab),
        (n) => n === 0,
        3_000,
      ),
    ).toBe(0);
  });

  it('earlyMedia offer: the callee’s early media reaches the caller before any SDP answer; the 486 closes it', async () => {
    const a = await startAgent('offer', 'offer');
    await register(lab, dir, 'alice', PHONE);
    const CALLEE_RTP = 31_010;
    const CALLER_RTP = 31_012;
    const callee = await party('lan', PHONE, CALLEE_RTP);
    const caller = await party('wan', PEER, CALLER_RTP);
    const uas = await sipp(lab, dir, {
      ns: 'lan',
      scenario: 'uas-early-busy.xml',
      tag: 'offer-callee',
      local: PHONE,
      port: 5060,
      rtp: CALLEE_RTP,
    });
    const uac = await sipp(lab, dir, {
      ns: 'wan',
      scenario: 'uac-early-busy.xml',
      tag: 'offer-caller',
      local: PEER,
      port: 5060,
      remote: OUTSIDE,
      service: 'alice',
      rtp: CALLER_RTP,
    });

    // At the offer both local ports exist; the callee's address is not known yet (its 180 has no SDP).
    const atOffer = await poll(
      () => streamView(a),
      (v) => v?.insideLocal !== undefined && v.outsideLocal !== undefined,
      5_000,
    );
    expect(atOffer?.insidePeer, a.logs().slice(-6000)).toBeUndefined();
    const inPort = atOffer!.insideLocal!;
    const outPort = atOffer!.outsideLocal!;
    expect(await kernelPinholes(lab)).toBe(1);
    const start = Date.now();
    callee.send('E', LAB_ADDR.fwInside, inPort);
    caller.send('X', LAB_ADDR.fwOutside, outPort);
    await sleep(1_200);
    // The instant first, then the agent's view: no answer in the view means none before the instant.
    const checkedAt = Date.now();
    const beforeAnswer = await streamView(a);
    // Still no answer: the 183 comes 3 s after the INVITE.
    expect(beforeAnswer?.insidePeer, a.logs().slice(-6000)).toBeUndefined();
    expect(caller.count('E', start, checkedAt)).toBeGreaterThanOrEqual(20);
    expect(caller.heard.every((h) => h.from === `${LAB_ADDR.fwOutside}:${outPort}`)).toBe(true);
    // The caller → callee direction waits for the answer.
    expect(callee.count('X', 0, checkedAt)).toBe(0);

    // The 183 with SDP opens the other direction.
    const answered = await poll(
      () => streamView(a),
      (v) => v?.insidePeer === `${PHONE}:${CALLEE_RTP}`,
      5_000,
    );
    const answeredAt = Date.now();
    expect(answered?.insidePeer).toBe(`${PHONE}:${CALLEE_RTP}`);
    await sleep(800);
    expect(callee.count('X', answeredAt)).toBeGreaterThanOrEqual(20);

    // The 486 ends the call: the pinhole leaves the kernel and the early media stops.
    const closed = await poll(
      () => kernelPinholes(lab),
      (n) => n === 0,
      6_000,
    );
    const closedAt = Date.now();
    expect(closed).toBe(0);
    await sleep(600);
    callee.stop();
    caller.stop();
    expect(caller.count('E', closedAt)).toBe(0);
    console.log(
      `[media-early offer] caller heard ${caller.count('E', start, checkedAt)} early packets before any answer, ` +
        `callee got ${callee.count('X', 0, checkedAt)} of the caller's before the 183 and ${callee.count('X', answeredAt)} after`,
    );
    expect(await mediaRuleset(lab)).not.toContain(PHONE);
    const results = await Promise.all([uac.done, uas.done]);
    for (const r of results) expect(r.code, `${r.output}\n--- agent ---\n${a.logs().slice(-6000)}`).toBe(0);
  });
});
