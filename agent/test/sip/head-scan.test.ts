import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/sip/index.js';
import { scanRequestHead, statelessResponseBytes } from '../../src/sip/head-scan.js';
import { requestBytes } from './builders.js';
import { loadTorture } from './torture-fixtures.js';

describe('scanRequestHead: what load shedding reads before the parse', () => {
  it('reads method, top Via, To tag and credentials of a plain REGISTER', () => {
    const bytes = requestBytes({
      method: 'REGISTER',
      requestUri: 'sip:example.com',
      via: ['SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-r1;rport', 'SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-r0'],
      headers: [['Authorization', 'Digest username="alice"']],
    });
    const head = scanRequestHead(bytes);
    expect(head).toMatchObject({
      method: 'REGISTER',
      transport: 'UDP',
      host: '192.0.2.10',
      port: 5070,
      branch: 'z9hG4bK-r1',
      toTag: false,
      credentials: true,
    });
  });

  it('sees a To tag as a header parameter, not inside the URI', () => {
    expect(scanRequestHead(requestBytes({ method: 'BYE', to: '<sip:bob@example.com>;tag=b7' }))?.toTag).toBe(
      true,
    );
    expect(
      scanRequestHead(requestBytes({ method: 'BYE', to: 'sip:bob@example.com ; TAG = b7' }))?.toTag,
    ).toBe(true);
    expect(scanRequestHead(requestBytes({ to: '<sip:bob@example.com;tag=x>' }))?.toTag).toBe(false);
    expect(scanRequestHead(requestBytes({ to: '<sip:bob@example.com>;tagged=1' }))?.toTag).toBe(false);
  });

  it('returns undefined for responses and for shapes it leaves to the parser', () => {
    expect(
      scanRequestHead(Buffer.from('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bKx\r\n\r\n')),
    ).toBeUndefined();
    // two via-parms on one line, folding inside To, no blank line
    expect(
      scanRequestHead(
        requestBytes({ via: ['SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/UDP b.example'] }),
      ),
    ).toBeUndefined();
    expect(scanRequestHead(requestBytes({ to: '<sip:bob@example.com>\r\n ;tag=1' }))).toBeUndefined();
    expect(
      scanRequestHead(Buffer.from('OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bKx\r\n')),
    ).toBeUndefined();
  });

  it('agrees with the parser on every torture message it accepts (RFC 4475, RFC 5118)', () => {
    let scanned = 0;
    for (const m of loadTorture()) {
      const head = scanRequestHead(m.bytes);
      if (head === undefined) continue;
      const parsed = parseMessage(m.bytes);
      if (!parsed.ok || parsed.value.kind !== 'request') continue;
      scanned++;
      const r = parsed.value;
      const top = r.via[0]!;
      expect({
        id: m.id,
        method: head.method,
        host: head.host,
        port: head.port,
        branch: head.branch,
      }).toEqual({
        id: m.id,
        method: r.method,
        host: top.host,
        port: top.port,
        branch: top.branch,
      });
      expect(head.transport).toBe(top.transport.toUpperCase());
      expect(head.toTag, m.id).toBe(r.to.tag !== undefined);
    }
    expect(scanned).toBeGreaterThan(10);
  });
});

describe('statelessResponseBytes', () => {
  it('copies Via lines, From, To (+ tag), Call-ID and CSeq as they came, whatever their order', () => {
    const bytes = Buffer.from(
      'REGISTER sip:example.com SIP/2.0\r\n' +
        'v: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-1;rport\r\n' +
        'Call-ID: c-1@192.0.2.10\r\n' +
        'CSeq: 7 REGISTER\r\n' +
        't: <sip:alice@example.com>\r\n' +
        'f: <sip:alice@example.com>;tag=a1\r\n' +
        'Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-0\r\n' +
        'Content-Length: 0\r\n\r\n',
      'latin1',
    );
    const head = scanRequestHead(bytes)!;
    const out = statelessResponseBytes(bytes, head, 503, 'Service Unavailable', [['Retry-After', '5']], 'x1');
    const parsed = parseMessage(out);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok || parsed.value.kind !== 'response') return;
    const res = parsed.value;
    expect(res.status).toBe(503);
    expect(res.via.map((v) => v.branch)).toEqual(['z9hG4bK-1', 'z9hG4bK-0']);
    expect(res.from.tag).toBe('a1');
    expect(res.to.tag).toBe('x1');
    expect(res.callId).toBe('c-1@192.0.2.10');
    expect(res.cseq).toEqual({ seq: 7, method: 'REGISTER' });
    expect(out.toString('latin1')).toContain('\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n');
  });

  it('keeps a To tag the request already has', () => {
    const bytes = requestBytes({ method: 'BYE', to: '<sip:bob@example.com>;tag=b7' });
    const out = statelessResponseBytes(bytes, scanRequestHead(bytes)!, 503, 'Service Unavailable', [], 'x2');
    expect(out.toString('latin1')).toContain('To: <sip:bob@example.com>;tag=b7\r\n');
    expect(out.toString('latin1')).not.toContain('x2');
  });
});
