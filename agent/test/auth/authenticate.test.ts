import { describe, expect, it } from 'vitest';
import { type AuthenticateContext, authenticateRequest } from '../../src/auth/authenticate.js';
import { parseDigestCredentials } from '../../src/auth/digest-params.js';
import { createNonceVerifier, type NonceOptions } from '../../src/auth/nonce.js';
import { NonceCountTracker } from '../../src/auth/nonce-count.js';
import { authorizationHeader, ha1Of } from './digest-client.js';

const realm = 'example.com';
const T0 = 1_700_000_000_000;
const nonceOptions: NonceOptions = { secret: Buffer.alloc(32, 3), maxAgeMs: 60_000 };

function context(): AuthenticateContext {
  let n = 0;
  return {
    realms: new Set([realm]),
    findUser: (u, r) =>
      u === 'alice' && r === realm
        ? {
            username: 'alice',
            domain: realm,
            ha1: { sha256: ha1Of('sha256', 'alice', realm, 'pw'), md5: ha1Of('md5', 'alice', realm, 'pw') },
          }
        : undefined,
    nonces: createNonceVerifier(nonceOptions),
    nonceCounts: new NonceCountTracker({ maxEntries: 100, maxAgeMs: 120_000 }),
    nonceOptions,
    random: (size) => Buffer.alloc(size, ++n),
    algorithms: ['SHA-256', 'MD5'],
  };
}

const base = { method: 'REGISTER', requestUri: 'sip:example.com', proxy: false, realm, source: '192.0.2.10' };

/** Plays the phone: takes the first challenge's nonce and answers it. */
function answer(
  headers: ReadonlyArray<readonly [string, string]>,
  password: string,
  nc = '00000001',
): string {
  const nonce = /nonce="([^"]+)"/.exec(headers[0]![1])![1]!;
  return authorizationHeader({
    hash: 'sha256',
    username: 'alice',
    realm,
    password,
    method: 'REGISTER',
    uri: 'sip:example.com',
    nonce,
    nc,
    cnonce: 'abc',
  });
}

describe('authenticateRequest', () => {
  it('challenges a request without credentials (401, SHA-256 first, not a failure)', () => {
    const d = authenticateRequest({ ...base, credentialHeaders: [] }, context(), T0);
    expect(d.kind).toBe('challenge');
    if (d.kind !== 'challenge') return;
    expect(d).toMatchObject({ status: 401, outcome: 'no-credentials', failure: false });
    expect(d.headers.map(([name]) => name)).toEqual(['WWW-Authenticate', 'WWW-Authenticate']);
    expect(d.headers[0]![1]).toMatch(
      /^Digest realm="example.com", nonce="[A-Za-z0-9_-]+", algorithm=SHA-256, qop="auth"$/,
    );
    expect(d.headers[1]![1]).toContain('algorithm=MD5');
  });

  it('uses 407 and Proxy-Authenticate for proxy authentication', () => {
    const d = authenticateRequest({ ...base, proxy: true, credentialHeaders: [] }, context(), T0);
    expect(d.kind === 'challenge' && d.status).toBe(407);
    expect(d.kind === 'challenge' && d.headers[0]![0]).toBe('Proxy-Authenticate');
  });

  it('authenticates the answer to its own challenge', () => {
    const ctx = context();
    const c = authenticateRequest({ ...base, credentialHeaders: [] }, ctx, T0);
    if (c.kind !== 'challenge') throw new Error('expected a challenge');
    const d = authenticateRequest({ ...base, credentialHeaders: [answer(c.headers, 'pw')] }, ctx, T0 + 100);
    expect(d).toEqual({ kind: 'authenticated', username: 'alice', realm });
  });

  it('answers a wrong password with 403 and counts it as a failure', () => {
    const ctx = context();
    const c = authenticateRequest({ ...base, credentialHeaders: [] }, ctx, T0);
    if (c.kind !== 'challenge') throw new Error('expected a challenge');
    const d = authenticateRequest({ ...base, credentialHeaders: [answer(c.headers, 'nope')] }, ctx, T0 + 100);
    expect(d).toEqual({ kind: 'reject', status: 403, outcome: 'bad-credentials', failure: true });
  });

  it('re-challenges a stale nonce with stale=true, not counted as a failure', () => {
    const ctx = context();
    const c = authenticateRequest({ ...base, credentialHeaders: [] }, ctx, T0);
    if (c.kind !== 'challenge') throw new Error('expected a challenge');
    const d = authenticateRequest(
      { ...base, credentialHeaders: [answer(c.headers, 'pw')] },
      ctx,
      T0 + 60_001,
    );
    expect(d.kind === 'challenge' && d.outcome).toBe('stale');
    expect(d.kind === 'challenge' && d.failure).toBe(false);
    expect(d.kind === 'challenge' && d.headers[0]![1]).toMatch(/, stale=true$/);
  });

  it('rejects a replayed Authorization with 403', () => {
    const ctx = context();
    const c = authenticateRequest({ ...base, credentialHeaders: [] }, ctx, T0);
    if (c.kind !== 'challenge') throw new Error('expected a challenge');
    const creds = answer(c.headers, 'pw');
    expect(authenticateRequest({ ...base, credentialHeaders: [creds] }, ctx, T0 + 1).kind).toBe(
      'authenticated',
    );
    expect(authenticateRequest({ ...base, credentialHeaders: [creds] }, ctx, T0 + 2)).toMatchObject({
      kind: 'reject',
      status: 403,
      outcome: 'replayed',
    });
  });

  it('ignores credentials in a scheme it does not know and challenges (RFC 4475 §3.3.7)', () => {
    const d = authenticateRequest(
      { ...base, credentialHeaders: ['NoOneKnowsThisScheme opaque-data=here'] },
      context(),
      T0,
    );
    expect(d).toMatchObject({ kind: 'challenge', status: 401, outcome: 'no-credentials', failure: false });
  });

  it('answers a malformed header with 400', () => {
    const d = authenticateRequest({ ...base, credentialHeaders: ['Digest username="alice'] }, context(), T0);
    expect(d).toEqual({ kind: 'reject', status: 400, outcome: 'malformed', failure: false });
  });

  it('picks the credentials for our realm among several headers', () => {
    const ctx = context();
    const c = authenticateRequest({ ...base, credentialHeaders: [] }, ctx, T0);
    if (c.kind !== 'challenge') throw new Error('expected a challenge');
    const foreign = answer(c.headers, 'pw').replace(`realm="${realm}"`, 'realm="elsewhere.net"');
    expect(parseDigestCredentials(foreign).ok).toBe(true);
    const d = authenticateRequest(
      { ...base, credentialHeaders: [foreign, answer(c.headers, 'pw')] },
      ctx,
      T0 + 1,
    );
    expect(d.kind).toBe('authenticated');
    const only = authenticateRequest({ ...base, credentialHeaders: [foreign] }, ctx, T0 + 1);
    expect(only.kind === 'challenge' && only.outcome).toBe('wrong-realm');
  });

  it('answers a digest uri that is not the Request-URI with 400', () => {
    const ctx = context();
    const c = authenticateRequest({ ...base, credentialHeaders: [] }, ctx, T0);
    if (c.kind !== 'challenge') throw new Error('expected a challenge');
    const d = authenticateRequest(
      { ...base, requestUri: 'sip:example.com;transport=tcp', credentialHeaders: [answer(c.headers, 'pw')] },
      ctx,
      T0 + 1,
    );
    expect(d).toMatchObject({ kind: 'reject', status: 400, outcome: 'uri-mismatch' });
  });
});
