import { describe, expect, it } from 'vitest';
import type { SipMessage } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parse.js';
import {
  CallTrace,
  redactCredentials,
  type TraceLimits,
  traceTextBound,
} from '../../src/trace/call-trace.js';

function msg(text: string): { message: SipMessage; bytes: Buffer } {
  const bytes = Buffer.from(text.replaceAll('\n', '\r\n'), 'latin1');
  const parsed = parseMessage(bytes);
  if (!parsed.ok) throw new Error(`bad test message: ${parsed.error.code}`);
  return { message: parsed.value, bytes };
}

function invite(callId: string, extra = '', body = ''): { message: SipMessage; bytes: Buffer } {
  return msg(`INVITE sip:bob@example.test SIP/2.0
Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-1
From: <sip:alice@example.test>;tag=a1
To: <sip:bob@example.test>
Call-ID: ${callId}
CSeq: 1 INVITE
Max-Forwards: 70
${extra}Content-Length: ${Buffer.byteLength(body.replaceAll('\n', '\r\n'))}

${body}`);
}

function response(callId: string, status: number, reason: string, method = 'INVITE') {
  return msg(`SIP/2.0 ${status} ${reason}
Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-1
From: <sip:alice@example.test>;tag=a1
To: <sip:bob@example.test>;tag=b1
Call-ID: ${callId}
CSeq: 1 ${method}
Content-Length: 0

`);
}

function register(callId: string) {
  return msg(`REGISTER sip:example.test SIP/2.0
Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-r
From: <sip:alice@example.test>;tag=r1
To: <sip:alice@example.test>
Call-ID: ${callId}
CSeq: 1 REGISTER
Content-Length: 0

`);
}

const inside = { interfaceName: 'lan', protocol: 'udp' };
const outside = { interfaceName: 'wan', protocol: 'udp' };
const phone = { address: '10.0.0.5', port: 5060 };
const carrier = { address: '2001:db8::1', port: 5060 };

function trace(limits?: Partial<TraceLimits>) {
  let now = 1_000;
  const t = new CallTrace(
    { clock: { now: () => now++ }, roleOf: (name) => (name === 'wan' ? 'outside' : 'inside') },
    { maxCalls: 4, maxMessagesPerCall: 8, maxMessageBytes: 2048, ...limits },
  );
  return t;
}

function add(
  t: CallTrace,
  dir: 'in' | 'out',
  m: { message: SipMessage; bytes: Buffer },
  s = inside,
  p = phone,
) {
  t.record(dir, m.message, m.bytes, s, p);
}

describe('CallTrace', () => {
  it('keeps both legs of a call in order with direction, role, peer and time', () => {
    const t = trace();
    add(t, 'in', invite('c1'));
    add(t, 'out', invite('c1'), outside, carrier);
    add(t, 'in', response('c1', 200, 'OK'), outside, carrier);
    add(t, 'out', response('c1', 200, 'OK'));
    const view = t.get('c1')!;
    expect(view.dropped).toBe(0);
    expect(view.messages.map((m) => [m.direction, m.role, m.method ?? m.status])).toEqual([
      ['in', 'inside', 'INVITE'],
      ['out', 'outside', 'INVITE'],
      ['in', 'outside', 200],
      ['out', 'inside', 200],
    ]);
    expect(view.messages[1]!.peer).toBe('[2001:db8::1]:5060');
    expect(view.messages[0]!.text.startsWith('INVITE sip:bob@example.test SIP/2.0\r\n')).toBe(true);
    const times = view.messages.map((m) => m.at);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('opens a slot only for an INVITE: other dialogs and stray responses are not kept', () => {
    const t = trace();
    add(t, 'in', register('r1'));
    add(t, 'in', response('c9', 200, 'OK'));
    expect(t.size).toBe(0);
    expect(t.get('r1')).toBeUndefined();
    expect(t.get('c9')).toBeUndefined();
  });

  it('forgets the oldest call past maxCalls', () => {
    const t = trace({ maxCalls: 3 });
    for (let i = 0; i < 10; i++) add(t, 'in', invite(`call-${i}`));
    expect(t.size).toBe(3);
    expect(t.get('call-6')).toBeUndefined();
    expect(t.get('call-7')?.messages).toHaveLength(1);
    expect(t.get('call-9')?.messages).toHaveLength(1);
  });

  it('keeps the last maxMessagesPerCall messages of a call and counts the dropped ones', () => {
    const t = trace({ maxMessagesPerCall: 5 });
    add(t, 'in', invite('c1'));
    for (let i = 0; i < 11; i++) add(t, 'out', response('c1', 180, `Ringing ${i}`));
    const view = t.get('c1')!;
    expect(view.messages).toHaveLength(5);
    expect(view.dropped).toBe(7);
    expect(view.messages.map((m) => m.reason)).toEqual([
      'Ringing 6',
      'Ringing 7',
      'Ringing 8',
      'Ringing 9',
      'Ringing 10',
    ]);
  });

  it('cuts long messages at maxMessageBytes and marks them; the text held stays under the bound', () => {
    const limits = { maxCalls: 2, maxMessagesPerCall: 3, maxMessageBytes: 300 };
    const t = trace(limits);
    const sdp = `v=0\no=- 1 1 IN IP4 10.0.0.5\ns=-\n${'a=x-filler:0123456789abcdef\n'.repeat(60)}`;
    for (let c = 0; c < 5; c++) for (let i = 0; i < 6; i++) add(t, 'in', invite(`big-${c}`, '', sdp));
    let held = 0;
    for (let c = 0; c < 5; c++)
      for (const m of t.get(`big-${c}`)?.messages ?? []) {
        expect(m.text.length).toBeLessThanOrEqual(300);
        expect(m.truncated).toBe(true);
        held += m.text.length;
      }
    expect(t.size).toBe(2);
    expect(held).toBeLessThanOrEqual(traceTextBound(limits));
    expect(held).toBe(2 * 3 * 300);
  });

  it('stores no digest response in clear (Authorization and Proxy-Authorization), even when cut', () => {
    const t = trace({ maxMessageBytes: 260 });
    const secret = '6629fae49393a05397450978507c4ef1';
    const creds =
      `Proxy-Authorization: Digest username="alice", realm="example.test", nonce="n1", ` +
      `uri="sip:bob@example.test", response="${secret}", algorithm=MD5\n` +
      `authorization: Digest username="alice",response=${secret},realm="x"\n`;
    add(t, 'in', invite('auth-1', creds));
    const [m] = t.get('auth-1')!.messages;
    expect(m!.truncated).toBe(true);
    add(t, 'in', invite('auth-2', creds));
    const whole = trace({ maxMessageBytes: 4096 });
    add(whole, 'in', invite('auth-3', creds));
    const full = whole.get('auth-3')!.messages[0]!.text;
    expect(full).not.toContain(secret);
    expect(full).toContain('response="[redacted]"');
    expect(full).toContain('username="alice"');
    expect(full.match(/\[redacted\]/g)).toHaveLength(2);
    for (const id of ['auth-1', 'auth-2']) expect(t.get(id)!.messages[0]!.text).not.toContain(secret);
  });

  it('shows the same cut text as redacting the whole message first (it keeps only a copy of its start)', () => {
    const secret = 'f'.repeat(64); // redaction shortens the line: more of the message fits the cut
    const creds = `Authorization: Digest username="alice", response="${secret}"\n`;
    const sdp = `v=0\n${'a=x-filler:0123456789abcdef\n'.repeat(200)}`; // ~5.6 KB: past the kept copy
    const m = invite('cut', creds, sdp);
    for (const max of [300, 2048]) {
      const t = trace({ maxMessageBytes: max });
      add(t, 'in', m);
      const shown = t.get('cut')!.messages[0]!;
      expect(shown.text).toBe(redactCredentials(m.bytes.toString('latin1')).slice(0, max));
      expect(shown.text).not.toContain(secret);
      expect(shown.truncated).toBe(true);
    }
  });

  it('puts both legs in one slot through canonicalCallId (sealed Call-IDs)', () => {
    const t = trace();
    t.canonicalCallId = (id) => (id.startsWith('sw0') ? id.slice(3) : id);
    add(t, 'in', invite('real-1'), outside, carrier);
    add(t, 'out', invite('sw0real-1'));
    const view = t.get('sw0real-1')!;
    expect(view.callId).toBe('real-1');
    expect(view.messages.map((m) => m.callId)).toEqual(['real-1', 'sw0real-1']);
  });

  it('refuses nonsense limits with the name and the value', () => {
    expect(() => trace({ maxCalls: 0 })).toThrow(/maxCalls.*got 0/);
  });
});

describe('redactCredentials', () => {
  it('keeps the scheme of other credentials and nothing else', () => {
    const out = redactCredentials('INVITE x SIP/2.0\r\nAuthorization: Basic YWxpY2U6c2VjcmV0\r\n\r\nbody');
    expect(out).toBe('INVITE x SIP/2.0\r\nAuthorization: Basic [redacted]\r\n\r\nbody');
  });
  it('finds the header in any case and with space before the colon', () => {
    const out = redactCredentials(
      'INVITE x SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nPROXY-AUTHORIZATION \t: Digest username="b", response="0f1e"\r\n\r\n',
    );
    expect(out).toBe(
      'INVITE x SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nPROXY-AUTHORIZATION \t: Digest username="b", response="[redacted]"\r\n\r\n',
    );
  });
  it('leaves the body and other headers alone', () => {
    const text = 'BYE x SIP/2.0\r\nX-Note: response="keep"\r\n\r\nresponse="keep"';
    expect(redactCredentials(text)).toBe(text);
  });
});
