import { readFileSync } from 'node:fs';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createTransportCounters } from '../../src/transport/counters.js';
import { UdpTransport } from '../../src/transport/udp-transport.js';

const sink = { onMessage: () => {}, onStreamError: () => {} };
const sysctl = (name: string) => Number(readFileSync(`/proc/sys/net/core/${name}`, 'utf8'));

async function listen(socketBufferBytes: number) {
  const lines: { msg: string; requested?: number; granted?: number }[] = [];
  const logger = pino({ level: 'warn' }, { write: (l: string) => lines.push(JSON.parse(l)) });
  const t = await UdpTransport.listen({
    interfaceName: 'lan',
    address: '127.0.0.1',
    port: 0,
    maxMessageBytes: 65_535,
    socketBufferBytes,
    sink,
    counters: createTransportCounters(),
    logger,
  });
  return { t, lines };
}

describe('UDP socket buffers (sip.limits.udpSocketBufferBytes)', () => {
  it('asks the kernel for the configured receive and send buffer', async () => {
    const want = Math.min(1_048_576, sysctl('rmem_max'), sysctl('wmem_max'));
    const { t, lines } = await listen(want);
    try {
      expect(t.socketBuffers.receive).toBeGreaterThanOrEqual(want);
      expect(t.socketBuffers.send).toBeGreaterThanOrEqual(want);
      expect(lines).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('warns, naming the sysctl, when the kernel grants less than asked', async () => {
    const cap = Math.max(sysctl('rmem_max'), sysctl('wmem_max'));
    const { t, lines } = await listen(cap * 4);
    try {
      expect(t.socketBuffers.receive).toBeLessThan(cap * 4);
      expect(lines).toHaveLength(1);
      expect(lines[0]?.msg).toContain('net.core.rmem_max');
      expect(lines[0]?.requested).toBe(cap * 4);
    } finally {
      await t.close();
    }
  });
});
