import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FramerEvent, StreamFramer } from '../../src/transport/stream-framer.js';

const limits = { maxHeaderBytes: 2048, maxMessageBytes: 8192 };

function options(n: number, body = ''): string {
  return (
    `OPTIONS sip:agent@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.${n}:5060;branch=z9hG4bK${n}\r\n` +
    `Call-ID: c${n}\r\nCSeq: ${n} OPTIONS\r\nFrom: <sip:a@x>;tag=${n}\r\nTo: <sip:b@x>\r\n` +
    `${n % 2 === 0 ? 'l' : 'Content-Length'}: ${Buffer.byteLength(body, 'latin1')}\r\n\r\n${body}`
  );
}

function feed(framer: StreamFramer, wire: Buffer, cuts: number[]): FramerEvent[] {
  const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
  const events: FramerEvent[] = [];
  let from = 0;
  for (const p of [...points, wire.length]) {
    events.push(...framer.push(wire.subarray(from, p)));
    from = p;
  }
  return events;
}

describe('StreamFramer', () => {
  it('reassembles back-to-back messages exactly under any split', () => {
    const messages = [
      options(1),
      options(2, 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n'),
      options(3, '\r\n\r\nbinary\u00ff'),
      options(4),
    ];
    const wire = Buffer.from(messages.join(''), 'latin1');
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 40 }), (cuts) => {
        const events = feed(new StreamFramer(limits), wire, cuts);
        expect(events.map((e) => (e.kind === 'message' ? e.bytes.toString('latin1') : e.kind))).toEqual(
          messages,
        );
      }),
      { numRuns: 300 },
    );
  });

  it('answers each double-CRLF ping with one pong and skips lone CRLF keep-alives, under any split', () => {
    const wire = Buffer.from(`\r\n\r\n${options(1)}\r\n${options(2)}\r\n\r\n\r\n\r\n`, 'latin1');
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 20 }), (cuts) => {
        const events = feed(new StreamFramer(limits), wire, cuts);
        expect(events.map((e) => e.kind)).toEqual(['pong', 'message', 'message', 'pong', 'pong']);
      }),
      { numRuns: 300 },
    );
  });

  it('waits for the body before emitting', () => {
    const framer = new StreamFramer(limits);
    const msg = Buffer.from(options(1, 'hello'), 'latin1');
    expect(framer.push(msg.subarray(0, msg.length - 1))).toEqual([]);
    expect(framer.bufferedBytes).toBe(msg.length - 1);
    expect(framer.push(msg.subarray(msg.length - 1))).toHaveLength(1);
  });

  it('fails on a header section larger than maxHeaderBytes, even without its end', () => {
    const framer = new StreamFramer(limits);
    const events = framer.push(Buffer.from(`OPTIONS sip:a SIP/2.0\r\nX: ${'a'.repeat(3000)}`));
    expect(events).toEqual([{ kind: 'error', reason: 'header-too-large' }]);
    expect(framer.isFailed).toBe(true);
    expect(framer.push(Buffer.from(options(1)))).toEqual([]);
  });

  it('fails on a Content-Length beyond maxMessageBytes and hands back the header for a reply', () => {
    const head = options(1).replace('Content-Length: 0', 'Content-Length: 100000');
    const [event] = new StreamFramer(limits).push(Buffer.from(head));
    expect(event).toMatchObject({ kind: 'error', reason: 'message-too-large' });
    expect(event?.kind === 'error' && event.headerBytes?.toString()).toBe(head);
  });

  it('fails when a stream message has no Content-Length', () => {
    const head = options(1).replace('Content-Length: 0\r\n', '');
    const [event] = new StreamFramer(limits).push(Buffer.from(head));
    expect(event).toMatchObject({ kind: 'error', reason: 'missing-content-length' });
  });

  it('fails on conflicting or non-numeric Content-Length', () => {
    const twice = options(1).replace('Content-Length: 0\r\n', 'Content-Length: 0\r\nl: 5\r\n');
    expect(new StreamFramer(limits).push(Buffer.from(twice))[0]).toMatchObject({
      reason: 'invalid-content-length',
    });
    const junk = options(1).replace('Content-Length: 0', 'Content-Length: -1');
    expect(new StreamFramer(limits).push(Buffer.from(junk))[0]).toMatchObject({
      reason: 'invalid-content-length',
    });
  });

  it('midMessage: true from the first byte of a message to its last, never for a held keep-alive', () => {
    const framer = new StreamFramer(limits);
    const seen: boolean[] = [];
    // "\r", "\r\n", "\r\n\r" may still become a ping: held, but no message has started.
    for (const part of ['\r', '\n', '\r', '\n']) {
      framer.push(Buffer.from(part));
      seen.push(framer.midMessage);
    }
    const wire = Buffer.from(options(1, 'hello'));
    framer.push(wire.subarray(0, 1));
    seen.push(framer.midMessage);
    framer.push(wire.subarray(1, wire.length - 1));
    seen.push(framer.midMessage);
    const events = framer.push(wire.subarray(wire.length - 1));
    seen.push(framer.midMessage);
    expect(events.map((e) => e.kind)).toEqual(['message']);
    expect(seen).toEqual([false, false, false, false, true, true, false]);
    // A lone CRLF (a pong) followed by a message's first byte: the message has started.
    framer.push(Buffer.from('\r\nO'));
    expect(framer.midMessage).toBe(true);
  });
});
