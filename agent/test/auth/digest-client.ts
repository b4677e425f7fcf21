import { createHash } from 'node:crypto';

/** Test-side stand-in for a phone: computes HA1 from a password and builds Authorization values. */
export type TestHash = 'md5' | 'sha256';

export const h = (hash: TestHash, s: string): string => createHash(hash).update(s, 'utf8').digest('hex');

/** HA1 = H(username:realm:password) — computed only in tests; the agent never sees passwords. */
export const ha1Of = (hash: TestHash, username: string, realm: string, password: string): string =>
  h(hash, `${username}:${realm}:${password}`);

export interface ClientAnswer {
  readonly hash: TestHash;
  readonly username: string;
  readonly realm: string;
  readonly password: string;
  readonly method: string;
  readonly uri: string;
  readonly nonce: string;
  readonly nc: string;
  readonly cnonce: string;
  readonly algorithm?: string;
  readonly opaque?: string;
}

/** RFC 7616 §3.4.1 response with qop=auth, independent of the agent's implementation. */
export function clientResponse(a: ClientAnswer): string {
  const ha1 = ha1Of(a.hash, a.username, a.realm, a.password);
  const ha2 = h(a.hash, `${a.method}:${a.uri}`);
  return h(a.hash, `${ha1}:${a.nonce}:${a.nc}:${a.cnonce}:auth:${ha2}`);
}

/** Renders an Authorization header value as a typical phone would. */
export function authorizationHeader(a: ClientAnswer, response = clientResponse(a)): string {
  const alg = a.algorithm ?? (a.hash === 'md5' ? 'MD5' : 'SHA-256');
  const opaque = a.opaque === undefined ? '' : `, opaque="${a.opaque}"`;
  return (
    `Digest username="${a.username}", realm="${a.realm}", nonce="${a.nonce}", uri="${a.uri}", ` +
    `response="${response}", algorithm=${alg}, cnonce="${a.cnonce}", qop=auth, nc=${a.nc}${opaque}`
  );
}
