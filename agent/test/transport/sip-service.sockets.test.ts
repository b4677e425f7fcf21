import { AgentConfigSchema } from '@sipwall/shared';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SipService, startSipService } from '../../src/sip-service.js';
import { createSystemClock } from '../../src/util/clock.js';
import { options, sipText, statusOf, TcpClient, UdpClient } from './sip-clients.js';

let service: SipService;
let udpPort = 0;
let tcpPort = 0;

beforeAll(async () => {
  const config = AgentConfigSchema.parse({
    sip: {
      domains: ['example.com'],
      interfaces: [
        { name: 'lan', role: 'inside', address: '127.0.0.1', port: 0, transports: ['udp', 'tcp'] },
      ],
      limits: { maxConnectionsPerSource: 3, idleTimeoutMs: 1000 },
    },
  });
  service = await startSipService({ config, logger: pino({ level: 'silent' }), clock: createSystemClock() });
  udpPort = service.listening.find((l) => l.transport === 'udp')?.port ?? 0;
  tcpPort = service.listening.find((l) => l.transport === 'tcp')?.port ?? 0;
});

afterAll(async () => {
  await service.stop();
});

describe('SIP service over real sockets on 127.0.0.1', () => {
  it('reports the real bound ports, UDP and TCP sharing one', () => {
    expect(udpPort).toBeGreaterThan(0);
    expect(tcpPort).toBe(udpPort);
  });

  it('stamps received and rport and answers to the source port, not the sent-by (RFC 3581 §4)', async () => {
    const client = await UdpClient.open();
    try {
      await client.send(options('10.9.9.9:5099;rport;branch=z9hG4bKrport1'), udpPort);
      const [response = ''] = await client.waitFor(1);
      expect(statusOf(response)).toBe(200);
      expect(response).toContain(
        `Via: SIP/2.0/UDP 10.9.9.9:5099;rport=${client.port};branch=z9hG4bKrport1;received=127.0.0.1`,
      );
      expect(response).toMatch(/^Allow: .*OPTIONS/m);
      expect(response).toMatch(/^Accept: application\/sdp/m);
    } finally {
      client.close();
    }
  });

  it('without rport, answers the sent-by port and adds no received when sent-by is the source (§18.2.2)', async () => {
    const client = await UdpClient.open();
    try {
      await client.send(options(`127.0.0.1:${client.port};branch=z9hG4bKplain1`), udpPort);
      const [response = ''] = await client.waitFor(1);
      expect(statusOf(response)).toBe(200);
      expect(response).toContain(`Via: SIP/2.0/UDP 127.0.0.1:${client.port};branch=z9hG4bKplain1\r\n`);
    } finally {
      client.close();
    }
  });

  it('follows a config change: a domain added later names the agent (OPTIONS answered, not refused)', async () => {
    const client = await UdpClient.open();
    const ask = async (n: number) => {
      const via = `127.0.0.1:${client.port};rport;branch=z9hG4bKpushed${n}`;
      await client.send(options(via, { uri: 'sip:pushed.example.net' }), udpPort);
      const got = await client.waitFor(n);
      return statusOf(got[n - 1] ?? '');
    };
    try {
      expect(await ask(1)).toBe(501); // not ours: no proxy in this stack
      service.reconfigure(
        AgentConfigSchema.parse({
          sip: {
            domains: ['example.com', 'pushed.example.net'],
            interfaces: [
              { name: 'lan', role: 'inside', address: '127.0.0.1', port: 0, transports: ['udp', 'tcp'] },
            ],
          },
        }),
      );
      expect(await ask(2)).toBe(200);
    } finally {
      client.close();
    }
  });

  it('answers a malformed but answerable request with 400', async () => {
    const client = await UdpClient.open();
    try {
      const bad = sipText([
        'OPTIONS sip:example.com SIP/2.0',
        `Via: SIP/2.0/UDP 127.0.0.1:${client.port};rport;branch=z9hG4bKbad1`,
        'From: <sip:probe@example.com>;tag=1',
        'To: <sip:example.com>',
        'Call-ID: bad-1',
        'CSeq: 1 OPTIONS',
        'Max-Forwards: many',
      ]);
      await client.send(bad, udpPort);
      const [response = ''] = await client.waitFor(1);
      expect(statusOf(response)).toBe(400);
    } finally {
      client.close();
    }
  });

  it('absorbs a retransmitted INVITE: one 100, and the same final re-sent per retransmission', async () => {
    const client = await UdpClient.open();
    try {
      // Addressed to the agent itself (no user part): the core answers 405 (no proxy in this stack).
      const invite = sipText([
        'INVITE sip:example.com SIP/2.0',
        `Via: SIP/2.0/UDP 127.0.0.1:${client.port};branch=z9hG4bKinv1`,
        'Max-Forwards: 70',
        'From: <sip:alice@example.com>;tag=a1',
        'To: <sip:bob@example.com>',
        'Call-ID: inv-1',
        'CSeq: 1 INVITE',
        `Contact: <sip:alice@127.0.0.1:${client.port}>`,
      ]);
      await client.send(invite, udpPort);
      await client.waitFor(1);
      await client.send(invite, udpPort);
      const got = await client.waitFor(2);
      const finals = got.map(statusOf);
      expect(finals[0]).toBe(405);
      expect(finals[1]).toBe(405);
      // The 405 went out before any 100 (the TU answered synchronously), so no 100 at all.
      expect(finals).not.toContain(100);
      const toTag = /^To: .*;tag=([^\s;]+)/m.exec(got[0] ?? '')?.[1];
      expect(toTag).toBeDefined();
      const ack = sipText([
        'ACK sip:example.com SIP/2.0',
        `Via: SIP/2.0/UDP 127.0.0.1:${client.port};branch=z9hG4bKinv1`,
        'Max-Forwards: 70',
        'From: <sip:alice@example.com>;tag=a1',
        `To: <sip:bob@example.com>;tag=${toTag}`,
        'Call-ID: inv-1',
        'CSeq: 1 ACK',
      ]);
      await client.send(ack, udpPort);
      await new Promise((r) => setTimeout(r, 700)); // past Timer G's first firing (T1 = 500 ms)
      expect(client.received).toHaveLength(2);
    } finally {
      client.close();
    }
  });

  it('answers OPTIONS over TCP on the same connection, and a CRLF ping with one CRLF pong', async () => {
    const client = await TcpClient.open(tcpPort);
    try {
      client.write(options('127.0.0.1:1;branch=z9hG4bKtcp1', { transport: 'TCP' }));
      await client.waitForData((d) => d.includes('\r\n\r\n'));
      expect(statusOf(client.data)).toBe(200);
      client.data = '';
      client.write('\r\n\r\n');
      await client.waitForData((d) => d.length > 0);
      await new Promise((r) => setTimeout(r, 50));
      expect(client.data).toBe('\r\n');
    } finally {
      client.close();
    }
  });

  it('answers a stream message without Content-Length with 400 and closes the connection', async () => {
    const client = await TcpClient.open(tcpPort);
    try {
      const noLength = options('127.0.0.1:1;branch=z9hG4bKtcp2', { transport: 'TCP' })
        .toString('latin1')
        .replace('Content-Length: 0\r\n', '');
      client.write(noLength);
      await client.waitForClose();
      expect(statusOf(client.data)).toBe(400);
    } finally {
      client.close();
    }
  });

  it('refuses connections beyond maxConnectionsPerSource', async () => {
    const clients = await Promise.all([1, 2, 3].map(() => TcpClient.open(tcpPort)));
    const extra = await TcpClient.open(tcpPort);
    try {
      await extra.waitForClose();
      await new Promise((r) => setTimeout(r, 100));
      expect(clients.map((c) => c.closed)).toEqual([false, false, false]);
    } finally {
      for (const c of [...clients, extra]) c.close();
    }
  });

  it('closes a TCP connection idle for idleTimeoutMs', async () => {
    await new Promise((r) => setTimeout(r, 200)); // let the previous test's connections be forgotten
    const client = await TcpClient.open(tcpPort);
    try {
      await new Promise((r) => setTimeout(r, 500));
      expect(client.closed).toBe(false);
      await client.waitForClose(2500);
    } finally {
      client.close();
    }
  });

  it('counts what it refused and dropped', () => {
    const m = service.metrics?.() ?? {};
    expect(m.connectionsRefused).toBeGreaterThanOrEqual(1);
    expect(m.framingErrors).toBeGreaterThanOrEqual(1);
    expect(m.malformedAnswered).toBeGreaterThanOrEqual(1);
    expect(m.requestRetransmissionsAbsorbed).toBeGreaterThanOrEqual(1);
  });
});
