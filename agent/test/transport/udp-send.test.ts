import { createSocket, type Socket } from 'node:dgram';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createTransportCounters } from '../../src/transport/counters.js';
import { UdpTransport } from '../../src/transport/udp-transport.js';
import { runBeforeNextSend } from '../../src/util/send-barrier.js';

const sink = { onMessage: () => {}, onStreamError: () => {} };
const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

async function transport() {
  const counters = createTransportCounters();
  const t = await UdpTransport.listen({
    interfaceName: 'lan',
    address: '127.0.0.1',
    port: 0,
    maxMessageBytes: 65_535,
    sink,
    counters,
    logger: pino({ level: 'silent' }),
  });
  open.push(t);
  return { t, counters };
}

async function receiver(): Promise<{ port: number; got: string[]; socket: Socket }> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  const got: string[] = [];
  socket.on('message', (m) => got.push(m.toString('latin1')));
  open.push({ close: () => new Promise<void>((r) => socket.close(() => r())) });
  return { port: socket.address().port, got, socket };
}

const until = async (cond: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('UDP sends (batched per event-loop turn)', () => {
  it('sends what one turn posted after that turn, every datagram, in posting order', async () => {
    const { t } = await transport();
    const rx = await receiver();
    const to = { address: '127.0.0.1', port: rx.port };
    const failed = { sendFailed: () => expect.unreachable('no send fails') };
    for (let i = 0; i < 50; i++) t.post(Buffer.from(`m${i}`), to, failed);
    // The batch goes out in the check phase of this turn.
    await new Promise((r) => setImmediate(r));
    await until(() => rx.got.length === 50);
    expect(rx.got).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
  });

  it('runs the send barrier (the journal write) before a datagram leaves', async () => {
    const { t } = await transport();
    const rx = await receiver();
    const order: string[] = [];
    rx.socket.on('message', () => order.push('datagram'));
    t.post(Buffer.from('200 OK'), { address: '127.0.0.1', port: rx.port }, { sendFailed: () => {} });
    runBeforeNextSend(() => order.push('journal written'));
    await until(() => order.length === 2);
    expect(order).toEqual(['journal written', 'datagram']);
  });

  it('resolves send() once its datagram went out, and posts made before close still go out', async () => {
    const { t } = await transport();
    const rx = await receiver();
    const to = { address: '127.0.0.1', port: rx.port };
    await t.send(Buffer.from('first'), to);
    t.post(Buffer.from('last'), to, { sendFailed: () => expect.unreachable('no send fails') });
    await t.close();
    await until(() => rx.got.length === 2);
    expect(rx.got).toEqual(['first', 'last']);
    await expect(t.send(Buffer.from('late'), to)).rejects.toMatchObject({ reason: 'closed' });
  });

  it('reports a datagram the socket refuses to its sender and counts it; the rest of the batch goes out', async () => {
    const { t, counters } = await transport();
    const rx = await receiver();
    const failures: unknown[] = [];
    t.post(Buffer.from('a'), { address: '127.0.0.1', port: rx.port }, { sendFailed: () => {} });
    t.post(Buffer.from('bad'), { address: '127.0.0.1', port: 0 }, { sendFailed: (e) => failures.push(e) });
    t.post(Buffer.from('b'), { address: '127.0.0.1', port: rx.port }, { sendFailed: () => {} });
    await expect(t.send(Buffer.from('bad'), { address: '127.0.0.1', port: 70_000 })).rejects.toMatchObject({
      reason: 'send-failed',
    });
    await until(() => rx.got.length === 2 && failures.length === 1);
    expect(rx.got).toEqual(['a', 'b']);
    expect(failures[0]).toMatchObject({ reason: 'send-failed' });
    expect(counters.sendErrors).toBe(1);
  });
});
