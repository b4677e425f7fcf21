import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boundaryOf, parseMultipart, serializeMultipart } from '../../src/sip/multipart.js';

const BODY =
  'preamble\r\n--abc\r\nContent-Type: application/sdp\r\n\r\nv=0\r\nm=audio 1 RTP/AVP 0\r\n' +
  '\r\n--abc\r\nContent-Type: application/isup;version=itu-t92+\r\nContent-Disposition: signal\r\n\r\n\x01\x02' +
  '\r\n--abc--\r\n';

describe('multipart bodies (RFC 2046 §5.1)', () => {
  it('splits parts with their headers and joins them again byte for byte', () => {
    expect(boundaryOf('multipart/mixed; boundary="abc"')).toBe('abc');
    expect(boundaryOf('multipart/mixed;boundary=abc;x=1')).toBe('abc');
    const m = parseMultipart(Buffer.from(BODY, 'latin1'), 'abc');
    if (!m.ok) throw new Error(m.error);
    expect(m.value.parts.map((p) => p.contentType)).toEqual(['application/sdp', 'application/isup']);
    expect(m.value.parts[0]!.body.toString('latin1')).toBe('v=0\r\nm=audio 1 RTP/AVP 0\r\n');
    expect(m.value.parts[1]!.body).toEqual(Buffer.from([1, 2]));
    expect(serializeMultipart(m.value).toString('latin1')).toBe(BODY);
    const replaced = serializeMultipart(m.value, new Map([[0, Buffer.from('v=0\r\n')]])).toString('latin1');
    expect(replaced).toBe(BODY.replace('v=0\r\nm=audio 1 RTP/AVP 0\r\n', 'v=0\r\n'));
  });

  it('refuses what does not parse and never throws', () => {
    expect(parseMultipart(Buffer.from('nothing'), 'abc').ok).toBe(false);
    expect(parseMultipart(Buffer.from('--abc\r\nContent-Type: a/b\r\n\r\nx'), 'abc').ok).toBe(false);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        parseMultipart(Buffer.from(bytes), 'abc');
        parseMultipart(Buffer.concat([Buffer.from('--abc\r\n'), Buffer.from(bytes)]), 'abc');
      }),
    );
  });
});
