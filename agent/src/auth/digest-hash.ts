import { hash } from 'node:crypto';

/** Hash algorithms the agent verifies (RFC 7616 §3.2; SHA-512-256 is not offered by SIP phones). */
export type DigestHash = 'md5' | 'sha256';

/** A recognised `algorithm=` value: the hash and whether it is a `-sess` variant (RFC 7616 §3.4.2). */
export interface DigestAlgorithm {
  readonly hash: DigestHash;
  readonly session: boolean;
}

/** Maps the `algorithm` parameter (case-insensitive; absent = MD5, RFC 2617 §3.2.2) to an algorithm. */
export function parseAlgorithm(value: string | undefined): DigestAlgorithm | undefined {
  switch ((value ?? 'MD5').toUpperCase()) {
    case 'MD5':
      return MD5;
    case 'MD5-SESS':
      return MD5_SESS;
    case 'SHA-256':
      return SHA256;
    case 'SHA-256-SESS':
      return SHA256_SESS;
    default:
      return undefined;
  }
}

const MD5: DigestAlgorithm = Object.freeze({ hash: 'md5', session: false });
const MD5_SESS: DigestAlgorithm = Object.freeze({ hash: 'md5', session: true });
const SHA256: DigestAlgorithm = Object.freeze({ hash: 'sha256', session: false });
const SHA256_SESS: DigestAlgorithm = Object.freeze({ hash: 'sha256', session: true });

/** H(data) as lower-case hex. Strings are hashed as UTF-8 (RFC 7616 §4). */
export function digestHash(algorithm: DigestHash, data: string): string {
  // One-shot hash: no Hash object per call (Node ≥ 20.12). Strings are hashed as UTF-8.
  return hash(algorithm, data, 'hex');
}

/**
 * HA2 = H(method ":" uri) of the last request per hash: a registrar sees the same
 * `REGISTER:sip:domain` over and over, so this saves one hash per verification.
 */
const lastHa2: Record<DigestHash, { method: string; uri: string; ha2: string }> = {
  md5: { method: '', uri: '', ha2: '' },
  sha256: { method: '', uri: '', ha2: '' },
};

function ha2Of(h: DigestHash, method: string, uri: string): string {
  const last = lastHa2[h];
  if (last.method === method && last.uri === uri && last.ha2 !== '') return last.ha2;
  const ha2 = digestHash(h, `${method}:${uri}`);
  last.method = method;
  last.uri = uri;
  last.ha2 = ha2;
  return ha2;
}

export interface ResponseInput {
  readonly algorithm: DigestAlgorithm;
  /** Stored H(username ":" realm ":" password) for `algorithm.hash`. */
  readonly ha1: string;
  readonly nonce: string;
  readonly cnonce: string | undefined;
  /** The nc value exactly as the client wrote it (8 hex digits). */
  readonly ncText: string | undefined;
  readonly qop: 'auth' | undefined;
  readonly method: string;
  readonly uri: string;
}

/**
 * The expected `response` value (RFC 7616 §3.4.1–3.4.3), computed from HA1 only:
 * `-sess` HA1 = H(HA1 ":" nonce ":" cnonce); HA2 = H(method ":" uri) (qop=auth);
 * response = H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2), or the RFC 2069 form
 * H(HA1 ":" nonce ":" HA2) when there is no qop.
 */
export function computeResponse(i: ResponseInput): string {
  const h = i.algorithm.hash;
  const ha1 = i.algorithm.session ? digestHash(h, `${i.ha1}:${i.nonce}:${i.cnonce ?? ''}`) : i.ha1;
  const ha2 = ha2Of(h, i.method, i.uri);
  if (i.qop === undefined) return digestHash(h, `${ha1}:${i.nonce}:${ha2}`);
  return digestHash(h, `${ha1}:${i.nonce}:${i.ncText ?? ''}:${i.cnonce ?? ''}:${i.qop}:${ha2}`);
}
