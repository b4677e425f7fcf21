import { createHmac, timingSafeEqual } from 'node:crypto';

/** Source of cryptographic randomness, injected (the composition root passes `crypto.randomBytes`). */
export type RandomBytes = (size: number) => Uint8Array;

/** Result of checking a nonce the agent issued. */
export type NonceCheck = 'valid' | 'stale' | 'invalid';

export interface NonceOptions {
  /** HMAC key, at least 16 bytes; kept in memory only, rotated by restarting (old nonces → invalid → fresh challenge). */
  readonly secret: Uint8Array;
  /** Age past which an authentic nonce is `stale` (RFC 7616 §3.3 `stale=true`). */
  readonly maxAgeMs: number;
  /** Tolerated clock step backwards before a nonce "from the future" counts as forged. */
  readonly futureSkewMs?: number;
}

const TS_BYTES = 8;
const RANDOM_BYTES = 12;
const MAC_BYTES = 32;
const NONCE_BYTES = TS_BYTES + RANDOM_BYTES + MAC_BYTES;
/** base64url of 52 bytes, no padding. */
const NONCE_CHARS = Math.ceil((NONCE_BYTES * 4) / 3);
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function assertSecret(secret: Uint8Array): void {
  if (secret.length < 16) throw new Error('nonce secret must be at least 16 bytes');
}

function mac(secret: Uint8Array, body: Uint8Array, realm: string): Buffer {
  return createHmac('sha256', secret).update(body).update(realm, 'utf8').digest();
}

/**
 * Issues a stateless nonce: base64url(timestamp ‖ random ‖ HMAC-SHA256(secret, timestamp ‖ random ‖ realm)).
 * No client address enters the MAC, so a phone whose NAT mapping changes between challenge
 * and answer still authenticates.
 */
export function issueNonce(opts: NonceOptions, realm: string, now: number, random: RandomBytes): string {
  assertSecret(opts.secret);
  const body = Buffer.alloc(TS_BYTES + RANDOM_BYTES);
  body.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(now))), 0);
  const r = random(RANDOM_BYTES);
  if (r.length !== RANDOM_BYTES) throw new Error('random source returned the wrong number of bytes');
  body.set(r, TS_BYTES);
  return Buffer.concat([body, mac(opts.secret, body, realm)]).toString('base64url');
}

/** The issue time (ms) encoded in a well-formed nonce, or `undefined`. Not authenticated on its own. */
export function nonceIssuedAt(nonce: string): number | undefined {
  if (nonce.length !== NONCE_CHARS || !BASE64URL.test(nonce)) return undefined;
  const bytes = Buffer.from(nonce, 'base64url');
  // Canonical encoding only: the 2 spare bits of the last character must be zero, so one nonce has one spelling.
  if (bytes.length !== NONCE_BYTES || bytes.toString('base64url') !== nonce) return undefined;
  return Number(bytes.readBigUInt64BE(0));
}

/**
 * Checks a nonce against this realm: `invalid` if it is not one we issued for `realm` (or claims
 * a time in the future), `stale` if authentic but older than `maxAgeMs`, else `valid`.
 */
export function checkNonce(opts: NonceOptions, realm: string, nonce: string, now: number): NonceCheck {
  assertSecret(opts.secret);
  const issuedAt = nonceIssuedAt(nonce);
  if (issuedAt === undefined) return 'invalid';
  const bytes = Buffer.from(nonce, 'base64url');
  const body = bytes.subarray(0, TS_BYTES + RANDOM_BYTES);
  const expected = mac(opts.secret, body, realm);
  if (!timingSafeEqual(expected, bytes.subarray(TS_BYTES + RANDOM_BYTES))) return 'invalid';
  if (issuedAt > now + (opts.futureSkewMs ?? 5_000)) return 'invalid';
  return now - issuedAt > opts.maxAgeMs ? 'stale' : 'valid';
}

/** The nonce seam `verifyDigest` uses (tests inject fixed nonces, e.g. the RFC vectors). */
export interface NonceVerifier {
  check(realm: string, nonce: string, now: number): NonceCheck;
  /** Issue time of a nonce `check` accepted (`valid` or `stale`). */
  issuedAt(nonce: string): number;
}

/** The HMAC nonce scheme above as a {@link NonceVerifier}. */
export function createNonceVerifier(opts: NonceOptions): NonceVerifier {
  assertSecret(opts.secret);
  return {
    check: (realm, nonce, now) => checkNonce(opts, realm, nonce, now),
    issuedAt: (nonce) => nonceIssuedAt(nonce) ?? 0,
  };
}
