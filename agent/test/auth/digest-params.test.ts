import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDigestCredentials, quoteString, renderDigestChallenge } from '../../src/auth/digest-params.js';

const RFC2617 =
  'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ' +
  'uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", ' +
  'response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"';

const codeOf = (header: string) => {
  const r = parseDigestCredentials(header);
  return r.ok ? 'ok' : r.error.code;
};

describe('parseDigestCredentials', () => {
  it('parses the RFC 2617 §3.5 Authorization header', () => {
    const r = parseDigestCredentials(RFC2617);
    expect(r).toEqual({
      ok: true,
      value: {
        username: 'Mufasa',
        realm: 'testrealm@host.com',
        nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
        uri: '/dir/index.html',
        response: '6629fae49393a05397450978507c4ef1',
        algorithm: undefined,
        cnonce: '0a4f113b',
        nc: 1,
        ncText: '00000001',
        qop: 'auth',
        opaque: '5ccc069c403ebaf9f0171e9517f40e41',
        userhash: false,
      },
    });
  });

  it('accepts any case for the scheme and parameter names', () => {
    const r = parseDigestCredentials(RFC2617.replace('Digest', 'dIGEST').replace('username=', 'UserName='));
    expect(r.ok && r.value.username).toBe('Mufasa');
  });

  it('unescapes quoted-pairs and keeps commas and equals signs inside quotes', () => {
    const r = parseDigestCredentials(RFC2617.replace('username="Mufasa"', 'username="Mu\\"fa\\\\sa, x=y"'));
    expect(r.ok && r.value.username).toBe('Mu"fa\\sa, x=y');
  });

  it('tolerates whitespace around "=" and empty list elements', () => {
    const r = parseDigestCredentials(
      RFC2617.replace('realm=', ' , realm = ').replace('qop=auth', 'qop = "auth"'),
    );
    expect(r.ok && r.value.realm).toBe('testrealm@host.com');
    expect(r.ok && r.value.qop).toBe('auth');
  });

  it('ignores parameters it does not know, which still count toward the limit', () => {
    const r = parseDigestCredentials(`${RFC2617}, x-foo=1, x-bar="a,b"`);
    expect(r.ok && r.value.username).toBe('Mufasa');
    const extra = Array.from({ length: 32 - 9 }, (_, i) => `, p${i}=1`).join('');
    expect(codeOf(RFC2617 + extra)).toBe('ok');
    expect(codeOf(`${RFC2617 + extra}, one=more`)).toBe('too-many-params');
  });

  it('lower-cases the response hex and keeps the nc text', () => {
    const r = parseDigestCredentials(
      RFC2617.replace('6629fae49393a05397450978507c4ef1', '6629FAE49393A05397450978507C4EF1').replace(
        'nc=00000001',
        'nc=0000000A',
      ),
    );
    expect(r.ok && r.value.response).toBe('6629fae49393a05397450978507c4ef1');
    expect(r.ok && r.value.nc).toBe(10);
    expect(r.ok && r.value.ncText).toBe('0000000A');
  });

  it.each([
    ['duplicate parameter', RFC2617 + ', realm="other"', 'duplicate-param'],
    [
      'duplicate parameter differing in case',
      RFC2617 + ', Response="6629fae49393a05397450978507c4ef1"',
      'duplicate-param',
    ],
    ['duplicate unknown parameter differing in case', RFC2617 + ', x-foo=1, X-Foo="2"', 'duplicate-param'],
    ['a scheme that only starts with Digest', RFC2617.replace('Digest', 'Digestive'), 'not-digest'],
    ['Basic scheme', 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==', 'not-digest'],
    ['scheme without params', 'Digest', 'not-digest'],
    ['unterminated quoted-string', 'Digest username="Mufasa, realm="x"', 'bad-syntax'],
    ['missing "="', 'Digest username "Mufasa"', 'bad-syntax'],
    ['junk after a value', 'Digest username="Mufasa" realm="x"', 'bad-syntax'],
    ['no username', RFC2617.replace('username="Mufasa", ', ''), 'missing-param'],
    ['no response', RFC2617.replace('response="6629fae49393a05397450978507c4ef1", ', ''), 'missing-param'],
    ['qop without cnonce', RFC2617.replace('cnonce="0a4f113b", ', ''), 'missing-param'],
    ['nc without qop', RFC2617.replace('qop=auth, ', ''), 'bad-param-value'],
    ['nc not 8 hex digits', RFC2617.replace('nc=00000001', 'nc=1'), 'bad-param-value'],
    [
      'response not hex',
      RFC2617.replace('6629fae49393a05397450978507c4ef1', 'z'.repeat(32)),
      'bad-param-value',
    ],
    [
      'response of a wrong length',
      RFC2617.replace('6629fae49393a05397450978507c4ef1', 'abc'),
      'bad-param-value',
    ],
    ['userhash not a boolean', RFC2617 + ', userhash=maybe', 'bad-param-value'],
    ['header too long', RFC2617 + `, x="${'a'.repeat(5000)}"`, 'too-long'],
    [
      'too many parameters',
      RFC2617 + Array.from({ length: 40 }, (_, i) => `, p${i}=1`).join(''),
      'too-many-params',
    ],
    ['CR inside a quoted-string', RFC2617.replace('Mufasa', 'Mu\rfasa'), 'bad-syntax'],
  ])('refuses %s', (_name, header, code) => {
    expect(codeOf(header)).toBe(code);
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        parseDigestCredentials(`Digest ${s}`);
        parseDigestCredentials(s);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips any quoted value through quoteString', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }).filter((s) => !/[\r\n]/.test(s)),
        (username) => {
          const header = RFC2617.replace('"Mufasa"', () => quoteString(username));
          const r = parseDigestCredentials(header);
          return r.ok && r.value.username === username;
        },
      ),
    );
  });
});

describe('renderDigestChallenge', () => {
  it('renders realm, nonce, algorithm and qop, with stale only when set', () => {
    expect(
      renderDigestChallenge({ realm: 'example.com', nonce: 'abc', algorithm: 'SHA-256', stale: false }),
    ).toBe('Digest realm="example.com", nonce="abc", algorithm=SHA-256, qop="auth"');
    expect(
      renderDigestChallenge({ realm: 'ex"q', nonce: 'n', algorithm: 'MD5', stale: true, opaque: 'o' }),
    ).toBe('Digest realm="ex\\"q", nonce="n", algorithm=MD5, qop="auth", opaque="o", stale=true');
  });
});
