import { describe, expect, it } from 'vitest';
import { createResponse } from '../../src/sip/build.js';
import { TransactionLayer } from '../../src/transaction/transaction-layer.js';
import { createTransportCounters } from '../../src/transport/counters.js';
import { TransportLayer } from '../../src/transport/transport-layer.js';
import type { Endpoint, Transport } from '../../src/transport/types.js';
import { ManualClock } from '../../src/util/clock.js';
import { silent, T } from '../transaction/harness.js';

/** A datagram transport that records what is posted, for the transport + transaction layers together. */
function recordingUdp() {
  const posted: { text: string; to: Endpoint }[] = [];
  const transport: Transport = {
    protocol: 'udp',
    interfaceName: 'lan',
    local: { address: '192.0.2.1', port: 5060 },
    reliable: false,
    send: async (bytes, to) => {
      posted.push({ text: Buffer.from(bytes).toString('latin1'), to });
    },
    post: (bytes, to) => posted.push({ text: Buffer.from(bytes).toString('latin1'), to }),
    close: async () => {},
  };
  return { transport, posted };
}

const OPTIONS = [
  'OPTIONS sip:192.0.2.1 SIP/2.0',
  'Via: SIP/2.0/UDP 10.1.1.1:5070;branch=z9hG4bK-resend-1;rport',
  'From: <sip:alice@example.com>;tag=a1',
  'To: <sip:192.0.2.1>',
  'Call-ID: resend-1',
  'CSeq: 1 OPTIONS',
  'Max-Forwards: 70',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

describe('transport layer + transaction layer on a datagram transport', () => {
  it('answers a retransmission after Completed with the same bytes to the same received/rport address', () => {
    const clock = new ManualClock();
    const { transport, posted } = recordingUdp();
    let handled = 0;
    const transactions = new TransactionLayer(
      { timers: T, maxPendingTransactions: 10, retryAfterSec: 5 },
      {
        clock,
        logger: silent,
        user: {
          onRequest: (req, tx) => {
            handled++;
            tx.respond(createResponse(req, 200, 'OK', { toTag: 'srv1' }));
          },
        },
      },
    );
    const tl = new TransportLayer(
      { maxMessageBytes: 65_535, maxHeaderBytes: 32_768, localHosts: ['192.0.2.1'] },
      { upper: transactions, counters: createTransportCounters(), logger: silent },
    );
    tl.addTransport(transport);
    const source = { address: '203.0.113.9', port: 40_123 }; // behind a NAT: not the Via's sent-by
    tl.onMessage({ bytes: Buffer.from(OPTIONS, 'latin1'), source, transport });
    tl.onMessage({ bytes: Buffer.from(OPTIONS, 'latin1'), source, transport });
    expect(handled).toBe(1);
    expect(posted).toHaveLength(2);
    expect(posted[0]?.text.startsWith('SIP/2.0 200 OK\r\n')).toBe(true);
    expect(posted[0]?.text).toContain('rport=40123;received=203.0.113.9');
    expect(posted[1]?.text).toBe(posted[0]?.text);
    expect(posted[1]?.to).toEqual(source);
    expect(transactions.counters.requestRetransmissionsAbsorbed).toBe(1);
  });
});
