import { describe, expect, it } from 'vitest';
import {
  editHeaders,
  prependHeader,
  prependVia,
  replaceHeaderValues,
  serializeMessage,
  setHeader,
  setRequestUri,
} from '../../src/sip/index.js';
import { anInvite } from './builders.js';

const text = (m: Parameters<typeof serializeMessage>[0]) => serializeMessage(m).toString('latin1');

describe('editHeaders: one pass, same result as the single edits', () => {
  const inv = anInvite({
    headers: [
      ['Record-Route', '<sip:p1.example;lr>'],
      ['User-Agent', 'Phone'],
    ],
  });

  it('matches prepend + replace + Max-Forwards + Request-URI applied one by one', () => {
    const one = editHeaders(inv, {
      prepend: [
        ['Via', 'SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bK-sw1.a'],
        ['Record-Route', '<sip:203.0.113.1;lr>'],
      ],
      set: [
        { name: 'Contact', values: ['<sip:alice@203.0.113.1;swc=x>'] },
        { name: 'User-Agent', values: [] },
        { name: 'Call-ID', values: ['masked@x'] },
      ],
      maxForwards: 69,
      requestUri: 'sip:bob@198.51.100.7',
    });
    let seq = prependVia(inv, 'SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bK-sw1.a');
    seq = prependHeader(seq, 'Record-Route', '<sip:203.0.113.1;lr>');
    seq = replaceHeaderValues(seq, 'Contact', ['<sip:alice@203.0.113.1;swc=x>']);
    seq = replaceHeaderValues(seq, 'User-Agent', []);
    seq = setHeader(seq, 'Call-ID', 'masked@x');
    seq = setHeader(seq, 'Max-Forwards', '69');
    seq = setRequestUri(seq, 'sip:bob@198.51.100.7');
    expect(text(one)).toBe(text(seq));
    expect(one.via.map((v) => v.host)).toEqual(['203.0.113.1', '192.0.2.10']);
    expect(one.callId).toBe('masked@x');
    expect(one.maxForwards).toBe(69);
    expect(one.requestUri.raw).toBe('sip:bob@198.51.100.7');
  });

  it('replaces the whole Via stack and puts a missing Max-Forwards after the Vias', () => {
    const noMf = anInvite({ maxForwards: null });
    const out = editHeaders(noMf, {
      set: [{ name: 'Via', values: ['SIP/2.0/TCP 203.0.113.1:5060;branch=z9hG4bKx'] }],
      maxForwards: 70,
    });
    expect(out.via.map((v) => v.transport)).toEqual(['TCP']);
    expect(out.headers[0]!.key).toBe('via');
    expect(out.headers[1]!.key).toBe('max-forwards');
    expect(out.maxForwards).toBe(70);
  });

  it('refuses to remove a mandatory header and rejects header injection', () => {
    expect(() => editHeaders(inv, { set: [{ name: 'From', values: [] }] })).toThrow();
    expect(() => editHeaders(inv, { set: [{ name: 'Subject', values: ['a\r\nVia: x'] }] })).toThrow();
  });
});
