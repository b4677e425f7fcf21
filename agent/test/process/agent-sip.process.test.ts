import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SpawnedAgent, startAgent } from '../helpers/spawn-agent.js';
import { options, sipText, statusOf, TcpClient, UdpClient } from '../transport/sip-clients.js';

let dir: string;
let agent: SpawnedAgent;
let udpPort = 0;
let tcpPort = 0;

const CONFIG = `site: process-test
stateDir: STATE
log:
  level: info
sip:
  domains: [example.com]
  interfaces:
    - name: lan
      role: inside
      address: 127.0.0.1
      port: 0
      transports: [udp, tcp]
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sipwall-sip-'));
  const file = join(dir, 'agent.yaml');
  await writeFile(file, CONFIG.replace('STATE', join(dir, 'state')));
  const started = await startAgent(['--config', file, '--admin-port', '0', '--sip-port', '0']);
  agent = started.agent;
  const sip = started.ready.sip as { transport: string; port: number }[];
  udpPort = sip.find((l) => l.transport === 'udp')?.port ?? 0;
  tcpPort = sip.find((l) => l.transport === 'tcp')?.port ?? 0;
}, 30_000);

afterAll(async () => {
  await agent?.stop(5000);
  await rm(dir, { recursive: true, force: true });
});

/** Sends OPTIONS until one 200 comes back (UDP may drop under load); bounded. */
async function optionsSucceeds(client: UdpClient, attempts = 10): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    const callId = `final-${i}`;
    await client.send(options(`127.0.0.1:${client.port};rport;branch=z9hG4bKfinal${i}`, { callId }), udpPort);
    const got = await client.waitForMatch((m) => m.includes(callId), 1000).catch(() => []);
    if (got.some((m) => statusOf(m) === 200 && m.includes(callId))) return true;
  }
  return false;
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** Deterministic garbage: random bytes, truncated and mutated SIP messages. */
function malformed(i: number, seed: { s: number }): Buffer {
  const next = () => {
    seed.s = (seed.s * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed.s;
  };
  const valid = options(`127.0.0.1:9;branch=z9hG4bKfuzz${i}`, { callId: `fuzz-${i}` });
  switch (i % 4) {
    case 0:
      return Buffer.from(Array.from({ length: 1 + (next() % 600) }, () => next() % 256));
    case 1:
      return valid.subarray(0, next() % valid.length);
    case 2: {
      const copy = Buffer.from(valid);
      for (let k = 0; k < 1 + (next() % 8); k++) copy[next() % copy.length] = next() % 256;
      return copy;
    }
    default:
      return Buffer.from(
        valid.toString('latin1').replace('CSeq: 1 OPTIONS', `CSeq: ${next()} INVITE`),
        'latin1',
      );
  }
}

describe('agent process: SIP', () => {
  it('answers OPTIONS on UDP', async () => {
    const client = await UdpClient.open();
    try {
      expect(await optionsSucceeds(client, 3)).toBe(true);
    } finally {
      client.close();
    }
  });

  it('answers OPTIONS on TCP', async () => {
    const client = await TcpClient.open(tcpPort);
    try {
      client.write(options('127.0.0.1:1;branch=z9hG4bKproc-tcp', { transport: 'TCP' }));
      await client.waitForData((d) => d.includes('\r\n\r\n'));
      expect(statusOf(client.data)).toBe(200);
    } finally {
      client.close();
    }
  });

  it('answers a malformed request with 400', async () => {
    const client = await UdpClient.open();
    try {
      const bad = sipText([
        'OPTIONS sip:example.com SIP/2.0',
        `Via: SIP/2.0/UDP 127.0.0.1:${client.port};branch=z9hG4bKproc-bad`,
        'From: <sip:a@example.com>;tag=1',
        'To: <sip:example.com>',
        'Call-ID: proc-bad',
        'CSeq: 1 INVITE',
      ]);
      await client.send(bad, udpPort);
      const [response = ''] = await client.waitFor(1);
      expect(statusOf(response)).toBe(400);
    } finally {
      client.close();
    }
  });

  it('still answers OPTIONS after 10,000 malformed datagrams, alive with bounded RSS', async () => {
    const client = await UdpClient.open();
    try {
      const seed = { s: 42 };
      for (let i = 0; i < 10_000; i++) {
        await client.send(malformed(i, seed), udpPort);
        if (i % 200 === 199) await new Promise((r) => setTimeout(r, 5)); // let the agent breathe
      }
      expect(await optionsSucceeds(client)).toBe(true);
      expect(() => process.kill(agent.pid, 0)).not.toThrow();
      expect(rssBytes(agent.pid)).toBeLessThan(400 * 1024 * 1024);
      // Garbage is answered or dropped as malformed, never by the per-message bug guard.
      expect(agent.logs().filter((l) => l.msg === 'message handling failed; message dropped')).toEqual([]);
    } finally {
      client.close();
    }
  }, 60_000);
});
