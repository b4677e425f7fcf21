import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type DigestUser, type DigestVerifyContext, verifyDigest } from '../../src/auth/digest.js';
import { computeResponse, parseAlgorithm } from '../../src/auth/digest-hash.js';
import { type DigestCredentials, parseDigestCredentials } from '../../src/auth/digest-params.js';
import { createNonceVerifier, issueNonce, type NonceVerifier } from '../../src/auth/nonce.js';
import { NonceCountTracker } from '../../src/auth/nonce-count.js';
import vectors from '../fixtures/auth/digest-vectors.json' with { type: 'json' };
import { authorizationHeader, type ClientAnswer, ha1Of } from './digest-client.js';

type Vector = (typeof vectors)['rfc2617_3_5'];

/** The RFC nonces are not HMAC nonces: a verifier that takes them as fresh. */
const acceptAnyNonce: NonceVerifier = { check: () => 'valid', issuedAt: () => 0 };

function vectorCredentials(v: Vector): DigestCredentials {
  const header =
    `Digest username="${v.username}", realm="${v.realm}", nonce="${v.nonce}", uri="${v.uri}", ` +
    `algorithm=${v.algorithm}, response="${v.response}", qop=${v.qop}, nc=${v.nc}, cnonce="${v.cnonce}", opaque="${v.opaque}"`;
  const parsed = parseDigestCredentials(header);
  if (!parsed.ok) throw new Error(`fixture does not parse: ${parsed.error.code}`);
  return parsed.value;
}

function vectorUser(v: Vector): DigestUser {
  // HA1 from the password happens here, in the test, only.
  return {
    username: v.username,
    domain: v.realm,
    ha1: {
      md5: ha1Of('md5', v.username, v.realm, v.password),
      sha256: ha1Of('sha256', v.username, v.realm, v.password),
    },
  };
}

describe('RFC test vectors', () => {
  it.each(Object.entries(vectors))('%s: computeResponse gives the published response', (_name, v) => {
    const alg = parseAlgorithm(v.algorithm)!;
    const user = vectorUser(v);
    const ha1 = alg.hash === 'md5' ? user.ha1.md5! : user.ha1.sha256!;
    expect(
      computeResponse({
        algorithm: alg,
        ha1,
        nonce: v.nonce,
        cnonce: v.cnonce,
        ncText: v.nc,
        qop: 'auth',
        method: v.method,
        uri: v.uri,
      }),
    ).toBe(v.response);
  });

  it.each(Object.entries(vectors))('%s: verifyDigest says ok', (_name, v) => {
    const ctx: DigestVerifyContext = {
      realms: new Set([v.realm]),
      findUser: (u, r) => (u === v.username && r === v.realm ? vectorUser(v) : undefined),
      nonces: acceptAnyNonce,
      nonceCounts: new NonceCountTracker({ maxEntries: 10, maxAgeMs: 60_000 }),
    };
    expect(verifyDigest(vectorCredentials(v), { method: v.method, uri: v.uri }, ctx, 0)).toBe('ok');
    // Second time the same nc is a replay.
    expect(verifyDigest(vectorCredentials(v), { method: v.method, uri: v.uri }, ctx, 0)).toBe('replayed');
  });

  it('wrong password on the RFC 7616 vector is bad-credentials', () => {
    const v = vectors.rfc7616_3_9_1_sha256;
    const ctx: DigestVerifyContext = {
      realms: new Set([v.realm]),
      findUser: () => ({
        ...vectorUser(v),
        ha1: { sha256: ha1Of('sha256', v.username, v.realm, 'circle of life') },
      }),
      nonces: acceptAnyNonce,
      nonceCounts: new NonceCountTracker({ maxEntries: 10, maxAgeMs: 60_000 }),
    };
    expect(verifyDigest(vectorCredentials(v), { method: v.method, uri: v.uri }, ctx, 0)).toBe(
      'bad-credentials',
    );
  });
});

describe('verifyDigest with agent-issued nonces', () => {
  const realm = 'example.com';
  const T0 = 1_700_000_000_000;
  const nonceOptions = { secret: Buffer.alloc(32, 1), maxAgeMs: 300_000 };
  let n = 0;
  const random = (size: number) => Buffer.alloc(size, ++n);
  const alice: DigestUser = {
    username: 'alice',
    domain: realm,
    ha1: { md5: ha1Of('md5', 'alice', realm, 's3cret'), sha256: ha1Of('sha256', 'alice', realm, 's3cret') },
  };
  const mdOnly: DigestUser = {
    username: 'bob',
    domain: realm,
    ha1: { md5: ha1Of('md5', 'bob', realm, 'pw') },
  };

  function setup() {
    const ctx: DigestVerifyContext = {
      realms: new Set([realm, 'other.example']),
      findUser: (u, r) => [alice, mdOnly].find((x) => x.username === u && x.domain === r),
      nonces: createNonceVerifier(nonceOptions),
      nonceCounts: new NonceCountTracker({ maxEntries: 100, maxAgeMs: 600_000 }),
    };
    const answer = (over: Partial<ClientAnswer> = {}): ClientAnswer => ({
      hash: 'sha256',
      username: 'alice',
      realm,
      password: 's3cret',
      method: 'REGISTER',
      uri: 'sip:example.com',
      nonce: issueNonce(nonceOptions, realm, T0, random),
      nc: '00000001',
      cnonce: 'c1',
      ...over,
    });
    const verify = (
      a: ClientAnswer,
      at = T0 + 10,
      request = { method: a.method, uri: a.uri },
      header?: string,
    ) => {
      const parsed = parseDigestCredentials(header ?? authorizationHeader(a));
      if (!parsed.ok) return `malformed:${parsed.error.code}`;
      return verifyDigest(parsed.value, request, ctx, at);
    };
    return { ctx, answer, verify };
  }

  it('accepts a correct SHA-256 and MD5 answer', () => {
    const { answer, verify } = setup();
    expect(verify(answer())).toBe('ok');
    expect(verify(answer({ hash: 'md5' }))).toBe('ok');
  });

  it('accepts increasing nc on one nonce and rejects a replayed nc', () => {
    const { answer, verify } = setup();
    const a = answer();
    expect(verify(a)).toBe('ok');
    expect(verify(a)).toBe('replayed');
    expect(verify({ ...a, nc: '00000002', cnonce: 'c2' })).toBe('ok');
    expect(verify({ ...a, nc: '00000002', cnonce: 'c3' })).toBe('replayed');
  });

  it('says stale (not bad-credentials) for a correct answer on an old nonce', () => {
    const { answer, verify } = setup();
    expect(verify(answer(), T0 + 300_001)).toBe('stale');
  });

  it('says bad-credentials for a wrong answer on an old nonce (stale=true only for a valid response)', () => {
    const { answer, verify } = setup();
    expect(verify(answer({ password: 'guess' }), T0 + 300_001)).toBe('bad-credentials');
  });

  it('rejects a wrong password', () => {
    const { answer, verify } = setup();
    expect(verify(answer({ password: 'S3cret' }))).toBe('bad-credentials');
  });

  it('treats an unknown user like a wrong password', () => {
    const { answer, verify } = setup();
    expect(verify(answer({ username: 'mallory' }))).toBe('unknown-user');
  });

  it('rejects a realm we do not serve', () => {
    const { answer, verify } = setup();
    const a = answer({ realm: 'evil.example' });
    expect(verify(a)).toBe('wrong-realm');
  });

  it('rejects a realm we serve but that is not the user domain', () => {
    const { answer, verify } = setup();
    // alice exists only in example.com; other.example is ours but has no alice.
    expect(verify(answer({ realm: 'other.example' }))).toBe('invalid-nonce');
    const a = answer({ realm: 'other.example' });
    const ctx2 = setup();
    expect(ctx2.verify({ ...a, nonce: issueNonce(nonceOptions, 'other.example', T0, random) })).toBe(
      'unknown-user',
    );
  });

  it('rejects a digest uri that differs from the Request-URI', () => {
    const { answer, verify } = setup();
    const a = answer();
    expect(verify(a, T0 + 10, { method: 'REGISTER', uri: 'sip:other.example.com' })).toBe('uri-mismatch');
  });

  it('rejects a response signed for another method', () => {
    const { answer, verify } = setup();
    const a = answer({ method: 'INVITE' });
    expect(verify(a, T0 + 10, { method: 'REGISTER', uri: a.uri })).toBe('bad-credentials');
  });

  it('rejects a nonce issued for another realm, forged, or from before a secret rotation', () => {
    const { answer, verify } = setup();
    expect(verify(answer({ nonce: issueNonce(nonceOptions, 'other.example', T0, random) }))).toBe(
      'invalid-nonce',
    );
    expect(verify(answer({ nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093' }))).toBe('invalid-nonce');
    const rotated = { ...nonceOptions, secret: Buffer.alloc(32, 2) };
    expect(verify(answer({ nonce: issueNonce(rotated, realm, T0, random) }))).toBe('invalid-nonce');
  });

  it('refuses RFC 2069 (no qop), unknown algorithms and userhash', () => {
    const { answer, verify } = setup();
    const a = answer({ hash: 'md5' });
    const noQop = `Digest username="alice", realm="${realm}", nonce="${a.nonce}", uri="${a.uri}", response="${'0'.repeat(32)}"`;
    expect(verify(a, T0 + 10, undefined, noQop)).toBe('unsupported');
    expect(verify(answer({ algorithm: 'SHA-512-256' }))).toBe('unsupported');
    expect(verify(a, T0 + 10, undefined, `${authorizationHeader(a)}, userhash=true`)).toBe('unsupported');
  });

  it('refuses SHA-256 for a user that only has an MD5 HA1', () => {
    const { answer, verify } = setup();
    expect(verify(answer({ username: 'bob', password: 'pw' }))).toBe('unsupported');
    expect(verify(answer({ username: 'bob', password: 'pw', hash: 'md5' }))).toBe('ok');
  });

  it('supports MD5-sess computed from the stored HA1', () => {
    const { answer, verify } = setup();
    const a = answer({ hash: 'md5', algorithm: 'MD5-sess' });
    // Client side of MD5-sess, written independently here.
    const md5 = (s: string) => createHash('md5').update(s).digest('hex');
    const ha1 = md5(`${md5(`alice:${realm}:s3cret`)}:${a.nonce}:${a.cnonce}`);
    const resp = md5(`${ha1}:${a.nonce}:${a.nc}:${a.cnonce}:auth:${md5(`${a.method}:${a.uri}`)}`);
    expect(verify(a, T0 + 10, undefined, authorizationHeader(a, resp))).toBe('ok');
  });

  it('refuses nc=00000000', () => {
    const { answer, verify } = setup();
    expect(verify(answer({ nc: '00000000' }))).toBe('unsupported');
  });

  it('reports a malformed header as a parse failure before verification', () => {
    const { answer, verify } = setup();
    expect(verify(answer(), T0, undefined, 'Digest username="alice", realm=')).toMatch(/^malformed:/);
  });
});
