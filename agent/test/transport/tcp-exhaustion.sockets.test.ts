import { AgentConfigSchema } from '@sipwall/shared';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type SipService, startSipService } from '../../src/sip-service.js';
import { ManualClock } from '../../src/util/clock.js';
import { options, statusOf, TcpClient } from './sip-clients.js';

/**
 * Hardening item 6, "TCP can be shut to everyone", replayed with real TCP sockets on loopback
 * against a small connection table (12 slots, 3 per source). Source addresses are 127.0.0.x
 * (all of 127/8 is local on Linux). Time is a ManualClock: the 20 s / 30 s deadlines pass
 * without sleeping; only socket round trips take real time.
 */

interface LogLine {
  level: number;
  msg: string;
  events?: Record<string, number>;
  sources?: number;
}

interface Agent {
  service: SipService;
  port: number;
  clock: ManualClock;
  lines: LogLine[];
  open: TcpClient[];
}

let agent: Agent | undefined;

async function startAgent(): Promise<Agent> {
  const config = AgentConfigSchema.parse({
    sip: {
      domains: ['example.com'],
      interfaces: [{ name: 'lan', role: 'inside', address: '127.0.0.1', port: 0, transports: ['tcp'] }],
      // Defaults for idleTimeoutMs (120 s), messageTimeoutMs (30 s), firstMessageTimeoutMs (20 s),
      // connectionLogIntervalMs (10 s); a table small enough to fill in a test.
      limits: { maxConnections: 12, maxConnectionsPerSource: 3 },
    },
  });
  const lines: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const clock = new ManualClock(Date.parse('2026-12-01T00:00:00Z'));
  const service = await startSipService({ config, logger, clock });
  const port = service.listening.find((l) => l.transport === 'tcp')?.port ?? 0;
  agent = { service, port, clock, lines, open: [] };
  return agent;
}

afterEach(async () => {
  if (agent === undefined) return;
  for (const c of agent.open) c.close();
  await agent.service.stop();
  agent = undefined;
});

async function connect(a: Agent, from: string): Promise<TcpClient> {
  const c = await TcpClient.open(a.port, from);
  a.open.push(c);
  return c;
}

/**
 * An idle slot holder: connects and sends one CRLF ping (which does not prove anything), then
 * waits for the pong, so the agent has certainly adopted it before the next one connects.
 */
async function idleHolder(a: Agent, from: string): Promise<TcpClient> {
  const c = await connect(a, from);
  c.write('\r\n\r\n');
  await c.waitForData((d) => d === '\r\n');
  return c;
}

/** A client that sends a valid OPTIONS and gets its answer. */
async function sipPeer(a: Agent, from: string, tag: string): Promise<{ client: TcpClient; status: number }> {
  const client = await connect(a, from);
  client.write(options(`${from}:5060;branch=z9hG4bK${tag}`, { transport: 'TCP' }));
  await client.waitForData((d) => d.includes('\r\n\r\n'), 2000).catch(() => '');
  return { client, status: statusOf(client.data) };
}

const settle = () => new Promise((r) => setTimeout(r, 50));
const source = (n: number) => `127.0.0.${n}`;
/** Log lines the listener wrote about connections (startup and shutdown lines left out). */
const connectionLines = (a: Agent) => a.lines.filter((l) => l.level >= 30 && /connection/i.test(l.msg));

describe('TCP slot exhaustion (hardening item 6) over real sockets on 127.0.0.x', () => {
  it('idle connections from many sources fill maxConnections: a new client still gets 200, proven connections are never evicted', async () => {
    const a = await startAgent();
    // 4 sources × 3 idle connections = the whole table (the 334 × 32 = 10,000, scaled down).
    const holders: TcpClient[] = [];
    for (let s = 11; s <= 14; s++) for (let i = 0; i < 3; i++) holders.push(await idleHolder(a, source(s)));

    const first = await sipPeer(a, source(50), 'legit1');
    expect(first.status).toBe(200);
    await settle();
    // The oldest idle holder made room; the others and the new client are still connected.
    expect(holders.map((h) => h.closed)).toEqual([true, ...Array(11).fill(false)]);

    // Twelve more idle connections from new sources: each evicts the oldest unproven one,
    // never the client that sent a valid request.
    const more: TcpClient[] = [];
    for (let s = 21; s <= 24; s++) for (let i = 0; i < 3; i++) more.push(await idleHolder(a, source(s)));
    await settle();
    expect(first.client.closed).toBe(false);
    expect(holders.every((h) => h.closed)).toBe(true);
    expect(more.filter((h) => h.closed)).toHaveLength(1);

    const second = await sipPeer(a, source(51), 'legit2');
    expect(second.status).toBe(200);
    expect(a.service.metrics?.().connectionsEvicted).toBe(14);

    // Ten more clients that send a valid request evict the ten idle connections left; once every
    // slot holds a connection that sent a valid request, the newcomer is the one refused.
    for (let k = 0; k < 10; k++) {
      expect((await sipPeer(a, source(31 + Math.floor(k / 3)), `full${k}`)).status).toBe(200);
    }
    await settle();
    expect(more.every((h) => h.closed)).toBe(true);
    const late = await connect(a, source(60));
    await late.waitForClose();
    expect(late.data).toBe('');
    expect(first.client.closed).toBe(false);
    expect(second.client.closed).toBe(false);
  });

  it('a message dripped one byte per second is closed 30 s after its first byte', async () => {
    const a = await startAgent();
    const { client, status } = await sipPeer(a, source(70), 'drip0');
    expect(status).toBe(200);
    client.data = '';
    // The first byte rides behind a CRLF ping in one segment: the pong proves it was read at t = 0.
    const wire = options(`${source(70)}:5060;branch=z9hG4bKdrip1`, { transport: 'TCP' });
    client.write(Buffer.concat([Buffer.from('\r\n\r\n'), wire.subarray(0, 1)]));
    await client.waitForData((d) => d === '\r\n');
    for (let second = 1; second <= 29; second++) {
      client.write(wire.subarray(second, second + 1));
      await settle();
      a.clock.advance(1000);
    }
    // t = 29 s: 30 bytes of a 300-byte header in, the idle timeout (120 s) kept at bay by each byte.
    await settle();
    expect(client.closed).toBe(false);
    a.clock.advance(1000);
    await client.waitForClose(2000);
    expect(a.service.metrics?.().connectionsMessageTimeout).toBe(1);
  });

  it('a connection that never completes a valid message is closed after 20 s, pings and garbage notwithstanding', async () => {
    const a = await startAgent();
    const pinger = await idleHolder(a, source(80));
    const garbage = await connect(a, source(81));
    // Framed (it has a Content-Length) but not SIP: no Via, no CSeq, nothing to answer.
    garbage.write('HELLO\r\nContent-Length: 0\r\n\r\n');
    const peer = await sipPeer(a, source(82), 'proven');
    expect(peer.status).toBe(200);
    for (let t = 5; t <= 15; t += 5) {
      a.clock.advance(5000);
      pinger.data = '';
      pinger.write('\r\n\r\n');
      await pinger.waitForData((d) => d === '\r\n');
    }
    await settle();
    expect([pinger.closed, garbage.closed]).toEqual([false, false]);
    a.clock.advance(5000); // t = 20 s
    await pinger.waitForClose(2000);
    await garbage.waitForClose(2000);
    // A connection that sent a valid request keeps the idle timeout (120 s).
    a.clock.advance(60_000);
    await settle();
    expect(peer.client.closed).toBe(false);
    expect(a.service.metrics?.().connectionsFirstMessageTimeout).toBe(2);
  });

  it('a flood of refused and evicted connections logs one line, then one summary per interval', async () => {
    const a = await startAgent();
    for (let i = 0; i < 3; i++) await idleHolder(a, source(90));
    // 40 more from the same source: refused by maxConnectionsPerSource.
    for (let i = 0; i < 40; i++) await (await connect(a, source(90))).waitForClose();
    expect(connectionLines(a)).toHaveLength(1); // before: one warning per refused connection, 40
    // 30 idle connections from 10 other sources: the table fills, then each evicts the oldest.
    for (let s = 101; s <= 110; s++) for (let i = 0; i < 3; i++) await idleHolder(a, source(s));
    await settle();
    const m = a.service.metrics?.() ?? {};
    expect(m.connectionsRefused).toBe(40);
    expect(m.connectionsEvicted).toBe(21);
    // 61 events so far: still one line (the first refusal) in the first interval.
    expect(connectionLines(a)).toHaveLength(1);
    a.clock.advance(10_000);
    const summaries = connectionLines(a).slice(1);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]?.level).toBe(40);
    expect(summaries[0]?.events).toEqual({ refused: 39, evicted: 21 });
    // Refused: 127.0.0.90; evicted (the oldest first): 127.0.0.90 and 127.0.0.101–106.
    expect(summaries[0]?.sources).toBe(7);
    // t = 20 s: the 12 idle connections left reach firstMessageTimeoutMs, inside the running
    // interval: one more summary line, not 12.
    a.clock.advance(10_000);
    expect(connectionLines(a)).toHaveLength(3);
    expect(connectionLines(a)[2]?.events).toEqual({ 'first-message-timeout': 12 });
    // Quiet intervals add nothing: 73 events, 3 lines.
    a.clock.advance(20_000);
    expect(connectionLines(a)).toHaveLength(3);
    expect(a.service.metrics?.().connectionsFirstMessageTimeout).toBe(12);
  });
});
