import { randomUUID } from 'node:crypto';
import { decode, LadderResultSchema, RpcReplySchema } from '@sipwall/shared';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../sip/parse.js';
import { CallTrace } from '../trace/call-trace.js';
import { ManualClock } from '../util/clock.js';
import { createRpcResponder, decideRpc } from './rpc-responder.js';

const NOW = Date.parse('2026-12-06T10:00:00.000Z');
const request = (params: Record<string, unknown>, id = randomUUID()) =>
  JSON.stringify({ v: 1, id, params, deadline: new Date(NOW + 5000).toISOString() });

function invite(callId: string, filler = 0): { message: ReturnType<typeof parse>; bytes: Buffer } {
  const text = [
    'INVITE sip:bob@example.test SIP/2.0',
    'Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-1',
    'From: <sip:alice@example.test>;tag=a1',
    'To: <sip:bob@example.test>',
    `Call-ID: ${callId}`,
    'CSeq: 1 INVITE',
    'Proxy-Authorization: Digest username="alice", realm="r", nonce="n", uri="sip:bob@example.test", response="0123456789abcdef0123456789abcdef"',
    ...Array.from({ length: filler }, (_, i) => `X-Filler-${i}: ${'x'.repeat(100)}`),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const bytes = Buffer.from(text, 'latin1');
  return { message: parse(bytes), bytes };
}
function parse(bytes: Buffer) {
  const p = parseMessage(bytes);
  if (!p.ok) throw new Error(p.error.code);
  return p.value;
}

function setup(maxReplyBytes?: number) {
  const clock = new ManualClock(NOW);
  const trace = new CallTrace(
    { clock, roleOf: (n) => (n === 'wan' ? 'outside' : 'inside') },
    { maxCalls: 4, maxMessagesPerCall: 40, maxMessageBytes: 8192 },
  );
  const responder = createRpcResponder({
    views: {
      registrations: () => ({ total: 0, rows: [] }),
      calls: () => ({ total: 0, rows: [] }),
      sessionsFor: async () => [],
      ladder: (id) => trace.get(id),
    },
    clock,
    logger: pino({ level: 'silent' }),
    ...(maxReplyBytes === undefined ? {} : { maxReplyBytes }),
  });
  const ask = async (params: Record<string, unknown>) => {
    const out = await responder.handle('ladder', Buffer.from(request(params)));
    const reply = decode(RpcReplySchema, out!);
    if (!reply.ok) throw new Error('invalid reply');
    return reply.value;
  };
  return { trace, ask, clock };
}

describe('ladder rpc', () => {
  it('decides ladder params and refuses a missing callId naming the field', () => {
    const x = randomUUID();
    const y = randomUUID();
    expect(decideRpc('ladder', request({ callId: 'c1' }, x), NOW)).toEqual({
      kind: 'ladder',
      id: x,
      callId: 'c1',
    });
    const bad = decideRpc('ladder', request({ callid: 'c1' }, y), NOW);
    expect(bad).toMatchObject({ kind: 'refuse', id: y, code: 'invalid-params' });
    expect((bad as { message: string }).message).toMatch(/callId/);
  });

  it('answers the messages of a traced call, redacted, and found:false for an unknown one', async () => {
    const { trace, ask, clock } = setup();
    const m = invite('call-1');
    trace.record(
      'in',
      m.message,
      m.bytes,
      { interfaceName: 'lan', protocol: 'udp' },
      { address: '10.0.0.5', port: 5060 },
    );
    clock.advance(15);
    trace.record(
      'out',
      m.message,
      m.bytes,
      { interfaceName: 'wan', protocol: 'udp' },
      { address: '192.0.2.9', port: 5060 },
    );
    const reply = await ask({ callId: 'call-1' });
    expect(reply.ok).toBe(true);
    const result = LadderResultSchema.parse((reply as { result: unknown }).result);
    expect(result.found).toBe(true);
    expect(result.messages.map((x) => [x.direction, x.role, x.method])).toEqual([
      ['in', 'inside', 'INVITE'],
      ['out', 'outside', 'INVITE'],
    ]);
    expect(Date.parse(result.messages[1]!.at) - Date.parse(result.messages[0]!.at)).toBe(15);
    expect(JSON.stringify(result)).not.toContain('0123456789abcdef0123456789abcdef');
    const none = LadderResultSchema.parse(((await ask({ callId: 'nope' })) as { result: unknown }).result);
    expect(none).toEqual({ callId: 'nope', found: false, messages: [], dropped: 0, truncated: false });
  });

  it('keeps a large ladder under the reply bound: the newest messages, the rest counted', async () => {
    const { trace, ask } = setup(20_000);
    for (let i = 0; i < 30; i++) {
      const m = invite('big', 20);
      trace.record(
        'in',
        m.message,
        m.bytes,
        { interfaceName: 'lan', protocol: 'udp' },
        { address: '10.0.0.5', port: 5060 },
      );
    }
    const reply = await ask({ callId: 'big' });
    const raw = JSON.stringify(reply);
    expect(Buffer.byteLength(raw)).toBeLessThanOrEqual(20_000);
    const result = LadderResultSchema.parse((reply as { result: unknown }).result);
    expect(result.truncated).toBe(true);
    expect(result.messages.length).toBeGreaterThan(0);
    expect(result.messages.length + result.dropped).toBe(30);
  });
});
