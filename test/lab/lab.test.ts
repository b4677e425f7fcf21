/**
 * The network-namespace lab itself (infra/lab): idempotent up/down, LAN→WAN through the masquerade,
 * WAN→LAN dropped by the fw, the wan DNS server answering NAPTR/SRV/A from fw, and a clean `down`.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DnsRecord,
  LAB_ADDR,
  LAB_SCRIPT,
  type Lab,
  type LabNs,
  labSkipReason,
  labUp,
  readPcap,
} from '../../infra/lab/lab.js';

const skip = labSkipReason();

const RECORDS: DnsRecord[] = [
  {
    type: 'NAPTR',
    name: 'example.test',
    order: 10,
    preference: 20,
    flags: 'S',
    service: 'SIP+D2U',
    replacement: '_sip._udp.example.test',
  },
  {
    type: 'SRV',
    name: '_sip._udp.example.test',
    target: 'sip.example.test',
    port: 5060,
    priority: 1,
    weight: 5,
  },
  { type: 'A', name: 'sip.example.test', address: '203.0.113.11' },
];

/** A UDP listener in `ns` that prints each datagram's source as a JSON line and echoes it back. */
const UDP_ECHO = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => {
  console.log(JSON.stringify({ from: r.address, port: r.port, text: m.toString() }));
  s.send(m, r.port, r.address);
});
s.bind(Number(process.argv[2]), process.argv[1], () => console.log('ready'));
`;

/** Sends a datagram from `bind` to `host:port` (3 tries, `gapMs` apart) and prints the echo, or 'no echo' and exits 1. */
const UDP_SEND = `
const [bind, host, port, text, gapMs = '1000'] = process.argv.slice(1);
const s = require('node:dgram').createSocket('udp4');
let tries = 0;
const send = () => {
  if (tries++ === 3) { console.log('no echo'); process.exit(1); }
  s.send(text, Number(port), host);
  setTimeout(send, Number(gapMs)).unref();
};
s.on('message', (m) => { console.log(m.toString()); process.exit(0); });
s.bind(0, bind, send);
setTimeout(() => { console.log('no echo'); process.exit(1); }, 5000);
`;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Starts UDP_ECHO in the lab and waits for 'ready'; returns the lines it prints. */
async function udpEcho(lab: Lab, ns: LabNs, addr: string, port: number) {
  const child = lab.spawn(ns, process.execPath, ['-e', UDP_ECHO, addr, String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`echo in ${ns} not ready in 5 s: ${stderr}`)), 5_000);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      for (const line of d.split('\n').filter(Boolean)) {
        if (line === 'ready') {
          clearTimeout(timer);
          resolve();
        } else lines.push(line);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`echo in ${ns} exited ${code}: ${stderr}`));
    });
  });
  return { child, lines };
}

async function script(args: string[], env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number; out: string }>((resolve) => {
    execFile(
      'bash',
      [LAB_SCRIPT, ...args],
      { env: { ...process.env, ...env }, timeout: 30_000 },
      (err, so, se) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: so + se });
      },
    );
  });
}

function netnsNames(): string {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
}

/** Running (a zombie left for a non-reaping init counts as gone). */
function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

describe.skipIf(skip)(`network-namespace lab${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await labUp({ dnsRecords: RECORDS });
  });
  afterAll(async () => {
    await lab?.down();
  });

  it('lab.sh: up twice, down twice and up again on one prefix; status tells up from absent', async () => {
    const prefix = `swq${process.pid.toString(36)}`.slice(0, 11);
    try {
      expect((await script(['up', prefix])).code).toBe(0);
      expect((await script(['up', prefix])).code).toBe(0);
      const st = await script(['status', prefix]);
      expect(st.code, st.out).toBe(0);
      expect(st.out).toContain('192.168.77.10/24 192.168.77.11/24 192.168.77.12/24');
      expect((await script(['down', prefix])).code).toBe(0);
      expect((await script(['down', prefix])).code).toBe(0);
      expect((await script(['status', prefix])).code).toBe(3);
      expect((await script(['up', prefix])).code).toBe(0);
      expect((await script(['status', prefix])).code).toBe(0);
    } finally {
      await script(['down', prefix]);
    }
    expect(netnsNames()).not.toContain(prefix);
    expect(existsSync(`/tmp/sipwall-lab/${prefix}`)).toBe(false);
    // A bad prefix is refused with a reason.
    const bad = await script(['up', 'Bad-Prefix-Too-Long']);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toContain('prefix must match');
  });

  it('a LAN phone reaches a WAN peer; the peer sees the fw outside address; no private address leaves', async () => {
    const pcap = join(tmpdir(), `${lab.prefix}-outside.pcap`);
    const cap = await lab.capture('fw', lab.ifaces.fwOutside, pcap, ['udp']);
    try {
      const peer = await udpEcho(lab, 'wan', LAB_ADDR.peers[0], 5060);
      const phone = LAB_ADDR.phones[1]; // a secondary address: phones may bind any of them
      const res = await lab.exec(
        'lan',
        process.execPath,
        ['-e', UDP_SEND, phone, LAB_ADDR.peers[0], '5060', 'ping'],
        {
          check: false,
        },
      );
      expect(res.stdout.trim(), res.stderr).toBe('ping'); // the echo came back through the fw
      const seen = JSON.parse(peer.lines[0] ?? '{}') as { from?: string; text?: string };
      expect(seen).toMatchObject({ from: LAB_ADDR.fwOutside, text: 'ping' });
      await cap.stop();
      const text = await readPcap(pcap);
      expect(text).toContain(`IP ${LAB_ADDR.fwOutside}.`);
      expect(text).toContain(`> ${LAB_ADDR.peers[0]}.5060`);
      expect(text).not.toContain('192.168.77.');
    } finally {
      await cap.stop();
      rmSync(pcap, { force: true });
    }
  });

  it('a new WAN→LAN datagram is dropped by the fw forward policy', async () => {
    const phone = await udpEcho(lab, 'lan', LAB_ADDR.phones[0], 7000);
    const dropped = async () => {
      const { stdout } = await lab.exec('fw', 'nft', ['-j', 'list', 'chain', 'inet', 'lab', 'forward']);
      const rules = (JSON.parse(stdout) as { nftables: { rule?: { comment?: string; expr: unknown[] } }[] })
        .nftables;
      const rule = rules.find((r) => r.rule?.comment?.startsWith('lab: new wan->lan'))?.rule;
      const counter = rule?.expr.find((e) => typeof e === 'object' && e !== null && 'counter' in e) as
        | { counter: { packets: number } }
        | undefined;
      return counter?.counter.packets ?? -1;
    };
    const before = await dropped();
    // An attacker on the fw's outside segment routes the private net via the fw (test-only route, inside wan).
    await lab.exec('wan', 'ip', ['route', 'add', LAB_ADDR.lanNet, 'via', LAB_ADDR.fwOutside]);
    try {
      const res = await lab.exec(
        'wan',
        process.execPath,
        ['-e', UDP_SEND, LAB_ADDR.peers[2], LAB_ADDR.phones[0], '7000', 'intrusion', '300'],
        { check: false },
      );
      expect(res.code).toBe(1);
      expect(res.stdout.trim()).toBe('no echo');
    } finally {
      await lab.exec('wan', 'ip', ['route', 'del', LAB_ADDR.lanNet, 'via', LAB_ADDR.fwOutside]);
    }
    await sleep(100);
    expect(phone.lines).toEqual([]);
    expect((await dropped()) - before).toBe(3); // the three tries reached the fw and were dropped there
    phone.child.kill();
  });

  it('the wan DNS server answers NAPTR, SRV and A queries from fw, and NXDOMAIN otherwise', async () => {
    const query = `
      const r = new (require('node:dns').promises.Resolver)({ timeout: 1000, tries: 2 });
      r.setServers([process.argv[1]]);
      (async () => {
        const out = {
          naptr: await r.resolveNaptr('example.test'),
          srv: await r.resolveSrv('_sip._udp.example.test'),
          a: await r.resolve4('sip.example.test'),
          missing: await r.resolve4('nothing.example.test').then(() => 'found', (e) => e.code),
        };
        console.log(JSON.stringify(out));
      })().catch((e) => { console.error(e); process.exit(1); });
    `;
    const { stdout } = await lab.exec('fw', process.execPath, ['-e', query, LAB_ADDR.dns]);
    expect(JSON.parse(stdout)).toEqual({
      // objectContaining: Node 24 adds `type` to SRV records (and may to others).
      naptr: [
        expect.objectContaining({
          flags: 'S',
          service: 'SIP+D2U',
          regexp: '',
          replacement: '_sip._udp.example.test',
          order: 10,
          preference: 20,
        }),
      ],
      srv: [expect.objectContaining({ name: 'sip.example.test', port: 5060, priority: 1, weight: 5 })],
      a: ['203.0.113.11'],
      missing: 'ENOTFOUND',
    });
  });

  it('down kills what the lab started and leaves no namespace, process or state dir', async () => {
    const peer = await udpEcho(lab, 'wan', LAB_ADDR.peers[3], 9000);
    const dnsmasqPid = Number(readFileSync(join(lab.stateDir, 'dnsmasq.pid'), 'utf8'));
    const pids = [peer.child.pid, dnsmasqPid].filter((p): p is number => typeof p === 'number' && p > 0);
    expect(pids).toHaveLength(2);
    await lab.down();
    await lab.down(); // twice is fine
    for (const pid of pids) expect(running(pid), `pid ${pid} still runs`).toBe(false);
    expect(netnsNames()).not.toContain(lab.prefix);
    expect(existsSync(lab.stateDir)).toBe(false);
    expect((await script(['status', lab.prefix])).code).toBe(3);
  });
});
