/**
 * Transparent mode in the lab (issue 9 item 6): a LAN phone configured with an outside proxy sends
 * its INVITE straight to 203.0.113.10:5060; the agent in fw, with `sip.proxy.transparent` on, has
 * put a redirect chain into its table `inet sipwall`, so the call is still handled by the agent as
 * an outbound request and leaves the firewall rewritten (topology hiding). After the agent stops,
 * its chain is gone.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lab, labSkipReason, labUp, readPcap } from '../../infra/lab/lab.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '../..');
const CLI = join(REPO_ROOT, 'agent/src/cli.ts');
const UAC_XML = join(HERE, 'sipp/transparent-uac.xml');
const UAS_XML = join(HERE, 'sipp/transparent-uas.xml');

const haveSipp = spawnSync('sh', ['-c', 'command -v sipp']).stdout?.toString().trim() !== '';
const skip = labSkipReason() ?? (haveSipp ? undefined : 'needs sipp (Debian: sip-tester)');

const TRANSPARENT_ON = 'transparent mode on: SIP crossing the firewall is redirected to the agent';
const INSIDE = '192.168.77.1';
const OUTSIDE = '203.0.113.1';
const PHONE = '192.168.77.10';
const PEER = '203.0.113.10';

function agentConfig(lab: Lab, stateDir: string): string {
  return `site: transparent-lab
stateDir: ${stateDir}
log: { level: info }
sip:
  domains: [site.lab.test]
  interfaces:
    - { name: inside, role: inside, address: ${INSIDE}, port: 5060, transports: [udp, tcp] }
    - { name: outside, role: outside, address: ${OUTSIDE}, port: 5060, transports: [udp, tcp] }
  proxy:
    dnsServers: [${lab.addr.dns}]
    transparent: { enabled: true, insideDevice: ${lab.ifaces.fwInside} }
admin: { address: 127.0.0.1, port: 0 }
policies: { authenticate: [] }
`;
}

type LogLine = { msg?: string } & Record<string, unknown>;

/** The agent's JSON log lines, and a wait for one of them. */
function watchLogs(child: ChildProcess) {
  const lines: LogLine[] = [];
  let text = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    text += d;
    let nl = text.indexOf('\n');
    while (nl >= 0) {
      const line = text.slice(0, nl);
      text = text.slice(nl + 1);
      nl = text.indexOf('\n');
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {}
    }
    for (const w of [...waiters]) w();
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const waitFor = (msg: string, timeoutMs: number) =>
    new Promise<LogLine>((res, rej) => {
      const check = () => {
        const hit = lines.find((l) => l.msg === msg);
        if (hit === undefined) return;
        done();
        res(hit);
      };
      const onExit = () => {
        done();
        rej(new Error(`agent exited before "${msg}": ${stderr}`));
      };
      const timer = setTimeout(() => {
        done();
        rej(new Error(`no "${msg}" in ${timeoutMs} ms: ${stderr}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
        child.off('exit', onExit);
      };
      waiters.add(check);
      child.once('exit', onExit);
      check();
    });
  return { lines, waitFor, stderr: () => stderr };
}

function exited(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((res) => {
    const timer = setTimeout(() => res(null), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      res(code);
    });
  });
}

/** One UDP packet of a capture: addresses and the SIP message's start line and headers. */
interface Packet {
  readonly src: string;
  readonly dst: string;
  readonly head: string;
}

/**
 * The UDP packets of `tcpdump -r -nn -X` output (hex, so no byte is lost), each with the text
 * before the first empty line: the SIP start line and headers, without the body.
 */
function sipPackets(dump: string): Packet[] {
  const packets: Packet[] = [];
  let hex = '';
  const flush = () => {
    if (hex === '') return;
    const bytes = Buffer.from(hex, 'hex');
    hex = '';
    if (bytes[9] !== 17) return; // UDP only
    const ihl = (bytes[0]! & 0x0f) * 4;
    const ip = (o: number) => [...bytes.subarray(o, o + 4)].join('.');
    const text = bytes.subarray(ihl + 8).toString('latin1');
    const end = text.indexOf('\r\n\r\n');
    packets.push({ src: ip(12), dst: ip(16), head: end < 0 ? text : text.slice(0, end) });
  };
  for (const line of dump.split('\n')) {
    const m = /^\s+0x[0-9a-f]{4}:\s\s(.*)$/.exec(line);
    if (m === null) {
      flush();
      continue;
    }
    // The hex column: 8 groups of 4 digits, single spaces between them (39 characters).
    hex += m[1]!.slice(0, 39).replace(/ /g, '');
  }
  flush();
  return packets;
}

describe.skipIf(skip)(`transparent mode in the lab${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let lab: Lab;
  let dir: string;

  beforeAll(async () => {
    lab = await labUp();
    dir = await mkdtemp(join(tmpdir(), 'sipwall-transparent-'));
  });
  afterAll(async () => {
    await lab?.down();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const nftTable = async () =>
    (await lab.exec('fw', 'nft', ['list', 'table', 'inet', 'sipwall'], { check: false })).stdout;

  /** The agent from source in fw (`lab.spawn` records its PID, so `down()` stops it at worst). */
  const startAgent = (configFile: string) => {
    const agent = lab.spawn(
      'fw',
      process.execPath,
      ['--conditions=@sipwall/source', '--import', 'tsx', CLI, '--config', configFile],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return { agent, logs: watchLogs(agent) };
  };

  it('a LAN phone sending to an outside proxy’s address is still handled by the agent, rewritten', async () => {
    const configFile = join(dir, 'agent.yaml');
    await writeFile(configFile, agentConfig(lab, join(dir, 'state')));
    const pcap = join(dir, 'outside.pcap');
    const capture = await lab.capture('fw', lab.ifaces.fwOutside, pcap, ['udp', 'port', '5060']);

    const { agent, logs } = startAgent(configFile);
    try {
      const on = await logs.waitFor(TRANSPARENT_ON, 30_000);
      expect(on).toMatchObject({ device: lab.ifaces.fwInside, ports: [5060] });
      await logs.waitFor('agent ready', 10_000);

      // The redirect chain is in the agent's table while it runs.
      const running = await nftTable();
      expect(running).toContain('chain sip_redirect');
      expect(running).toContain(
        `iifname "${lab.ifaces.fwInside}" udp dport 5060 ip daddr != ${INSIDE} counter packets 0 bytes 0 dnat ip to ${INSIDE}:5060`,
      );
      expect(running).toContain(`iifname "${lab.ifaces.fwInside}" tcp dport 5060 ip daddr != ${INSIDE}`);

      // The outside proxy (SIPp UAS) on 203.0.113.10:5060.
      const uas = lab.spawn(
        'wan',
        'sipp',
        ['-sf', UAS_XML, '-i', PEER, '-p', '5060', '-m', '1', '-nostdin', '-timeout', '30s', '-trace_err'],
        { cwd: dir, stdio: ['ignore', 'ignore', 'ignore'] },
      );
      await new Promise((r) => setTimeout(r, 500)); // SIPp binds within a few ms
      expect(uas.exitCode).toBeNull();

      // The phone (SIPp UAC, 192.168.77.10:5060) sends everything to 203.0.113.10:5060, not to the agent.
      const uac = await lab.exec(
        'lan',
        'sipp',
        [
          '-sf',
          UAC_XML,
          '-i',
          PHONE,
          '-p',
          '5060',
          '-s',
          'service',
          '-m',
          '1',
          '-nostdin',
          '-timeout',
          '20s',
          '-trace_err',
          '-error_file',
          join(dir, 'uac-errors.log'),
          `${PEER}:5060`,
        ],
        { check: false, timeoutMs: 40_000 },
      );
      expect(uac.code, `SIPp UAC: ${uac.stdout.slice(-2000)}${uac.stderr}`).toBe(0);
      expect(await exited(uas, 10_000), 'SIPp UAS exit code').toBe(0);

      // The redirect rule matched (the phone's dialog: INVITE, then ACK and BYE on the same flow).
      expect(await nftTable()).toMatch(/udp dport 5060 ip daddr != \S+ counter packets [1-9]/);
      await capture.stop();

      const packets = sipPackets(await readPcap(pcap, { hex: true }));
      const starts = packets.map((p) => p.head.split('\r\n')[0]);
      expect(starts).toEqual(
        expect.arrayContaining([
          'INVITE sip:service@203.0.113.10:5060 SIP/2.0',
          'SIP/2.0 200 OK',
          expect.stringMatching(/^ACK sip:callee@203\.0\.113\.10:5060/),
          expect.stringMatching(/^BYE sip:callee@203\.0\.113\.10:5060/),
        ]),
      );
      for (const p of packets) {
        // Only the agent's outside address talks to the outside proxy: the phone never shows.
        expect([p.src, p.dst].sort()).toEqual([OUTSIDE, PEER]);
        // Start line and headers only: the SDP body still names the phone's media address, which
        // is the media layer's job (SDP rewrite, a later issue), not transparent mode's.
        expect(p.head, p.head).not.toMatch(/192\.168\.77\./);
      }
      const invite = packets.find((p) => p.head.startsWith('INVITE '))!;
      expect(invite.src).toBe(OUTSIDE);
      const vias = invite.head.split('\r\n').filter((h) => /^(Via|v):/i.test(h));
      expect(vias).toHaveLength(1); // topology hiding: the phone's Via is not shown
      expect(vias[0]).toMatch(/^Via: SIP\/2\.0\/UDP 203\.0\.113\.1:5060;branch=z9hG4bK/);
      expect(invite.head).toMatch(/\r\nContact: <sip:phone@203\.0\.113\.1:5060;swc=/);
    } finally {
      await capture.stop();
      agent.kill('SIGTERM');
      const code = await exited(agent, 10_000);
      if (code === null && agent.exitCode === null) agent.kill('SIGKILL');
    }
    expect(agent.exitCode, logs.stderr()).toBe(0);
    expect(logs.lines.some((l) => l.msg === 'transparent mode off: redirect removed')).toBe(true);
    // Its own chain is gone; the table (shared with the media layer) may stay, empty of it.
    expect(await nftTable()).not.toContain('sip_redirect');
    // Nothing of the agent's in the lab's own table.
    expect((await lab.exec('fw', 'nft', ['list', 'table', 'inet', 'lab'])).stdout).not.toContain('sipwall');
  });
  it('a restart after a crash replaces the chain instead of duplicating its rules', async () => {
    const configFile = join(dir, 'agent-crash.yaml');
    await writeFile(configFile, agentConfig(lab, join(dir, 'state-crash')));
    const rules = (table: string) => table.split('\n').filter((l) => l.includes('sipwall transparent mode'));
    const first = startAgent(configFile);
    await first.logs.waitFor('agent ready', 30_000);
    first.agent.kill('SIGKILL'); // no stop path: the chain stays behind
    await exited(first.agent, 10_000);
    expect(rules(await nftTable())).toHaveLength(2);

    const second = startAgent(configFile);
    try {
      await second.logs.waitFor(TRANSPARENT_ON, 30_000);
      await second.logs.waitFor('agent ready', 10_000);
      const table = await nftTable();
      expect(table.match(/chain sip_redirect/g)).toHaveLength(1);
      expect(rules(table)).toHaveLength(2); // one udp, one tcp
    } finally {
      second.agent.kill('SIGTERM');
      if ((await exited(second.agent, 10_000)) === null) second.agent.kill('SIGKILL');
    }
    expect(second.agent.exitCode, second.logs.stderr()).toBe(0);
    expect(await nftTable()).not.toContain('sip_redirect');
  });
});
