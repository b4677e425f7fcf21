import { describe, expect, it } from 'vitest';
import {
  createResponse,
  getRoutes,
  parseMessage,
  prependHeader,
  prependVia,
  removeFirstHeaderValue,
  removeHeader,
  removeTopVia,
  type SipMessage,
  serializeMessage,
  setBody,
  setHeader,
  setRequestUri,
  setTopViaParams,
} from '../../src/sip/index.js';
import { anInvite, aRegister, aResponse } from './builders.js';

const lines = (m: SipMessage) => serializeMessage(m).toString('latin1').split('\r\n');

/** Lines of `after` that are not in `before` and vice versa. */
function diff(before: SipMessage, after: SipMessage) {
  const a = lines(before);
  const b = lines(after);
  return { removed: a.filter((l) => !b.includes(l)), added: b.filter((l) => !a.includes(l)) };
}

describe('edits keep untouched bytes', () => {
  const invite = anInvite({
    via: ['SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-a;rport', 'SIP/2.0/TCP 198.51.100.1;branch=z9hG4bK-b'],
    headers: [
      ['X-Odd', 'spacing ,  kept ;  as is'],
      ['Route', '<sip:p1.example.com;lr>, <sip:p2.example.com;lr>'],
    ],
  });

  it('adds received and rport to the top Via only', () => {
    const edited = setTopViaParams(invite, { received: '203.0.113.9', rport: 40000 });
    expect(diff(invite, edited)).toEqual({
      removed: ['Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-a;rport'],
      added: ['Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-a;rport=40000;received=203.0.113.9'],
    });
    expect(edited.via[0]).toMatchObject({ received: '203.0.113.9', rport: 40000 });
    expect(edited.wire).toBeUndefined();
    expect(invite.via[0]?.rport).toBe(true); // the input is not mutated
  });

  it('prepends a Via as a new first Via field', () => {
    const edited = prependVia(invite, 'SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-proxy');
    expect(diff(invite, edited)).toEqual({
      removed: [],
      added: ['Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-proxy'],
    });
    expect(edited.via.map((v) => v.branch)).toEqual(['z9hG4bK-proxy', 'z9hG4bK-a', 'z9hG4bK-b']);
    expect(lines(edited)[1]).toBe('Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-proxy');
  });

  it('removes the top Via (and prepend+remove is the identity on bytes)', () => {
    const removed = removeTopVia(invite);
    expect(removed.via.map((v) => v.branch)).toEqual(['z9hG4bK-b']);
    expect(diff(invite, removed).added).toEqual([]);
    const there = removeTopVia(prependVia(invite, 'SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-x'));
    expect(serializeMessage(there).equals(serializeMessage(invite))).toBe(true);
  });

  it('removes the first value of a multi-value line and keeps the rest', () => {
    const msg = parseMessage(
      Buffer.from(
        'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/UDP b.example.com;branch=z9hG4bK2\r\n' +
          'From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n',
      ),
    );
    if (!msg.ok) return expect.fail(msg.error.code);
    const edited = removeTopVia(msg.value);
    expect(edited.via.map((v) => v.host)).toEqual(['b.example.com']);
    expect(lines(edited)[1]).toBe('Via: SIP/2.0/UDP b.example.com;branch=z9hG4bK2');
    expect(removeTopVia(edited).via).toEqual([]);
  });

  it('removes the top Route value (RFC 3261 §16.4)', () => {
    const edited = removeFirstHeaderValue(invite, 'route');
    const routes = getRoutes(edited);
    expect(routes.ok && routes.value.map((r) => r.uri.raw)).toEqual(['sip:p2.example.com;lr']);
    expect(lines(edited)).toContain('X-Odd: spacing ,  kept ;  as is');
  });

  it('replaces the body and recomputes Content-Length only', () => {
    const body = Buffer.from('v=0\r\n', 'latin1');
    const edited = setBody(invite, body, 'application/sdp');
    expect(edited.body.equals(body)).toBe(true);
    expect(edited.contentLength).toBe(5);
    const d = diff(invite, edited);
    expect(d.added.filter((l) => l.startsWith('Content-Length'))).toEqual(['Content-Length: 5']);
    const reparsed = parseMessage(serializeMessage(edited));
    expect(reparsed.ok && reparsed.value.body.toString()).toBe('v=0\r\n');
  });

  it('empties the body and drops Content-Type', () => {
    const edited = setBody(invite, new Uint8Array(0));
    expect(lines(edited).some((l) => l.startsWith('Content-Type'))).toBe(false);
    expect(edited.contentLength).toBe(0);
  });

  it('sets the Request-URI', () => {
    const edited = setRequestUri(invite, 'sip:bob@192.0.2.99:5062;transport=tcp');
    expect(edited.startLine).toBe('INVITE sip:bob@192.0.2.99:5062;transport=tcp SIP/2.0');
    expect(edited.requestUri.kind === 'sip' && edited.requestUri.port).toBe(5062);
    expect(diff(invite, edited).removed).toEqual(['INVITE sip:bob@example.com SIP/2.0']);
  });

  it('setHeader replaces, prependHeader inserts before same-name fields, removeHeader drops', () => {
    const mf = setHeader(invite, 'Max-Forwards', '69');
    expect(mf.maxForwards).toBe(69);
    const rr = prependHeader(invite, 'Record-Route', '<sip:proxy.example.com;lr>');
    expect(lines(rr)[1]).toBe('Record-Route: <sip:proxy.example.com;lr>');
    expect(removeHeader(invite, 'x-odd').headers.some((h) => h.key === 'x-odd')).toBe(false);
  });

  it('rejects CRLF inside an edited value (header injection)', () => {
    expect(() => setHeader(invite, 'Subject', 'hi\r\nVia: evil')).toThrow();
    expect(() => setTopViaParams(invite, { received: '1.2.3.4\r\nX: y' })).toThrow();
  });

  it('refuses to remove From/To/Call-ID/CSeq', () => {
    expect(() => removeHeader(invite, 'call-id')).toThrow();
  });
});

describe('createResponse (RFC 3261 §8.2.6)', () => {
  it('copies every Via in order, From, To + tag, Call-ID, CSeq', () => {
    const req = anInvite({ via: ['SIP/2.0/UDP a;branch=z9hG4bK1', 'SIP/2.0/TCP b;branch=z9hG4bK2'] });
    const res = createResponse(req, 486, undefined, { toTag: 'xyz', headers: [['Retry-After', '30']] });
    expect(res.status).toBe(486);
    expect(res.reason).toBe('Busy Here');
    expect(res.via.map((v) => v.branch)).toEqual(['z9hG4bK1', 'z9hG4bK2']);
    expect(res.to.tag).toBe('xyz');
    expect(res.from.raw).toBe(req.from.raw);
    expect(res.callId).toBe(req.callId);
    expect(res.cseq).toEqual(req.cseq);
    expect(res.contentLength).toBe(0);
    expect(serializeMessage(res).toString('latin1')).toContain('Retry-After: 30\r\n');
  });

  it('adds no To tag to 100 Trying and keeps an existing tag', () => {
    expect(aResponse(100).to.tag).toBeUndefined();
    const inDialog = aRegister({ to: '<sip:alice@example.com>;tag=keep' });
    expect(createResponse(inDialog, 200, 'OK', { toTag: 'other' }).to.tag).toBe('keep');
  });

  it('carries a body with Content-Type and Content-Length', () => {
    const res = createResponse(anInvite(), 200, 'OK', {
      toTag: 't',
      body: { bytes: Buffer.from('v=0\r\n'), contentType: 'application/sdp' },
    });
    expect(res.body.toString()).toBe('v=0\r\n');
    expect(res.contentLength).toBe(5);
  });
});
