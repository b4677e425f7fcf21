import { hash } from 'node:crypto';

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
const RANDOM_BYTES = 8;
/** Keyed tag of the address the nonce was sent to (see {@link sourceTag}). */
const SOURCE_TAG_BYTES = 4;
const SOURCE_TAG_AT = TS_BYTES + RANDOM_BYTES;
const MAC_BYTES = 32;
const BODY_BYTES = TS_BYTES + RANDOM_BYTES + SOURCE_TAG_BYTES;
const NONCE_BYTES = BODY_BYTES + MAC_BYTES;
/** base64url of 52 bytes, no padding. */
const NONCE_CHARS = Math.ceil((NONCE_BYTES * 4) / 3);
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** base64url characters whose low 4 bits are zero (values 0, 16, 32, 48). */
const CANONICAL_LAST = 'AQgw';

function assertSecret(secret: Uint8Array): void {
  if (secret.length < 16) throw new Error('nonce secret must be at least 16 bytes');
}

/**
 * HMAC-SHA256(secret, body ‖ realm) per RFC 2104, built from two one-shot hashes over the
 * precomputed key pads: the same bytes `createHmac` gives (see nonce.test.ts), without an Hmac
 * object and key schedule per nonce. Scratch buffers are per secret; everything is synchronous.
 * The MAC comes back as a latin1 ('binary') string, one char per byte: Node 20's one-shot `hash` is about
 * 1 µs slower when it returns a Buffer than when it returns a string.
 */
function mac(secret: Uint8Array, body: Uint8Array, realm: string): string {
  let k = macKeys.get(secret);
  if (k === undefined) {
    k = macKeyFor(secret);
    macKeys.set(secret, k);
  }
  const realmBytes = Buffer.byteLength(realm, 'utf8');
  const innerLength = SHA256_BLOCK + body.length + realmBytes;
  if (k.inner.length < innerLength) {
    const grown = Buffer.alloc(innerLength);
    k.inner.copy(grown, 0, 0, SHA256_BLOCK);
    k.inner = grown;
  }
  k.inner.set(body, SHA256_BLOCK);
  k.inner.write(realm, SHA256_BLOCK + body.length, 'utf8');
  const innerHash = hash('sha256', k.inner.subarray(0, innerLength), 'binary');
  k.outer.write(innerHash, SHA256_BLOCK, MAC_BYTES, 'latin1');
  return hash('sha256', k.outer, 'binary');
}

const SHA256_BLOCK = 64;

interface MacKey {
  /** K ⊕ ipad, then room for the message. */
  inner: Buffer;
  /** K ⊕ opad, then the inner hash. */
  readonly outer: Buffer;
}

const macKeys = new WeakMap<Uint8Array, MacKey>();

function macKeyFor(secret: Uint8Array): MacKey {
  const key = Buffer.alloc(SHA256_BLOCK);
  if (secret.length > SHA256_BLOCK) key.set(hash('sha256', Buffer.from(secret), 'buffer'));
  else key.set(secret);
  const inner = Buffer.alloc(SHA256_BLOCK + 256);
  const outer = Buffer.alloc(SHA256_BLOCK + 32);
  for (let i = 0; i < SHA256_BLOCK; i++) {
    inner[i] = key[i]! ^ 0x36;
    outer[i] = key[i]! ^ 0x5c;
  }
  return { inner, outer };
}

/** Per nonce secret, the key of the source tags: SHA-256(secret ‖ label), so tags and nonce MACs never share a key. */
const sourceTagKeys = new WeakMap<Uint8Array, Uint8Array>();
const SOURCE_TAG_LABEL = Buffer.from('sipwall nonce source tag', 'latin1');
const NO_BODY = new Uint8Array(0);

/**
 * The first {@link SOURCE_TAG_BYTES} bytes of HMAC-SHA256(K, source address), K derived from the
 * nonce secret: which address a nonce was sent to, unreadable and unforgeable without the secret.
 * Only the address enters it, never the port (NAT keeps the address, it may change the port).
 */
function sourceTag(secret: Uint8Array, source: string): string {
  let key = sourceTagKeys.get(secret);
  if (key === undefined) {
    key = hash('sha256', Buffer.concat([secret, SOURCE_TAG_LABEL]), 'buffer');
    sourceTagKeys.set(secret, key);
  }
  return mac(key, NO_BODY, source).slice(0, SOURCE_TAG_BYTES);
}

/**
 * Issues a stateless nonce: base64url(timestamp ‖ random ‖ source tag ‖ MAC), the MAC being
 * HMAC-SHA256(secret, timestamp ‖ random ‖ source tag ‖ realm).
 *
 * The source tag records the address the challenge was sent to (`source`; empty when unknown).
 * It does not decide whether the nonce is authentic: a phone whose NAT mapping changes between
 * challenge and answer still holds a valid nonce. It decides whether a wrong answer proves
 * anything about its source (see {@link nonceIssuedTo}): only someone who received the challenge
 * at that address can answer it, so UDP from a forged source cannot count failures against it.
 */
export function issueNonce(
  opts: NonceOptions,
  realm: string,
  now: number,
  random: RandomBytes,
  source = '',
): string {
  assertSecret(opts.secret);
  const bytes = Buffer.allocUnsafe(NONCE_BYTES);
  writeTimestamp(bytes, Math.max(0, Math.floor(now)));
  const r = random(RANDOM_BYTES);
  if (r.length !== RANDOM_BYTES) throw new Error('random source returned the wrong number of bytes');
  bytes.set(r, TS_BYTES);
  bytes.write(sourceTag(opts.secret, source), SOURCE_TAG_AT, SOURCE_TAG_BYTES, 'latin1');
  bytes.write(mac(opts.secret, bytes.subarray(0, BODY_BYTES), realm), BODY_BYTES, MAC_BYTES, 'latin1');
  return bytes.toString('base64url');
}

/**
 * Whether a well-formed nonce was issued to `source` (compared by its source tag). Meaningful
 * only for a nonce `checkNonce` accepted; a malformed one answers `false`.
 */
export function nonceIssuedTo(opts: NonceOptions, nonce: string, source: string): boolean {
  assertSecret(opts.secret);
  const bytes = decodeNonce(nonce);
  if (bytes === undefined) return false;
  const tag = sourceTag(opts.secret, source);
  let diff = 0;
  for (let i = 0; i < SOURCE_TAG_BYTES; i++) diff |= tag.charCodeAt(i) ^ bytes[SOURCE_TAG_AT + i]!;
  return diff === 0;
}

/** The MAC part of `nonce` against `expected` (latin1), compared without an early exit. */
function equalMac(expected: string, nonce: Buffer): boolean {
  let diff = 0;
  for (let i = 0; i < MAC_BYTES; i++) diff |= expected.charCodeAt(i) ^ nonce[BODY_BYTES + i]!;
  return diff === 0;
}

/** 64-bit big-endian milliseconds without a BigInt (times stay below 2^53). */
function writeTimestamp(buf: Buffer, ms: number): void {
  buf.writeUInt32BE(Math.floor(ms / 0x1_0000_0000), 0);
  buf.writeUInt32BE(ms % 0x1_0000_0000, 4);
}

function readTimestamp(buf: Buffer): number {
  return buf.readUInt32BE(0) * 0x1_0000_0000 + buf.readUInt32BE(4);
}

/** The nonce's bytes if it is well-formed and canonically encoded, else `undefined`. */
function decodeNonce(nonce: string): Buffer | undefined {
  if (nonce.length !== NONCE_CHARS || !BASE64URL.test(nonce)) return undefined;
  const bytes = Buffer.from(nonce, 'base64url');
  // Canonical encoding only: the 4 spare bits of the last character (52 bytes = 17 groups of 3 + 1
  // byte in 2 characters) must be zero, so one nonce has one spelling: only A, Q, g or w may end it.
  if (bytes.length !== NONCE_BYTES || !CANONICAL_LAST.includes(nonce[NONCE_CHARS - 1]!)) return undefined;
  return bytes;
}

/** The issue time (ms) encoded in a well-formed nonce, or `undefined`. Not authenticated on its own. */
export function nonceIssuedAt(nonce: string): number | undefined {
  const bytes = decodeNonce(nonce);
  return bytes === undefined ? undefined : readTimestamp(bytes);
}

/**
 * Checks a nonce against this realm: `invalid` if it is not one we issued for `realm` (or claims
 * a time in the future), `stale` if authentic but older than `maxAgeMs`, else `valid`.
 */
export function checkNonce(opts: NonceOptions, realm: string, nonce: string, now: number): NonceCheck {
  assertSecret(opts.secret);
  const bytes = decodeNonce(nonce);
  if (bytes === undefined) return 'invalid';
  const issuedAt = readTimestamp(bytes);
  const expected = mac(opts.secret, bytes.subarray(0, BODY_BYTES), realm);
  if (!equalMac(expected, bytes)) return 'invalid';
  return byAge(opts, issuedAt, now);
}

/** The verdict on an authentic nonce issued at `issuedAt`: from the future, too old, or fine. */
function byAge(opts: NonceOptions, issuedAt: number, now: number): NonceCheck {
  if (issuedAt > now + (opts.futureSkewMs ?? 5_000)) return 'invalid';
  return now - issuedAt > opts.maxAgeMs ? 'stale' : 'valid';
}

/** The nonce seam `verifyDigest` uses (tests inject fixed nonces, e.g. the RFC vectors). */
export interface NonceVerifier {
  check(realm: string, nonce: string, now: number): NonceCheck;
  /** Issue time of a nonce `check` accepted (`valid` or `stale`). */
  issuedAt(nonce: string): number;
  /**
   * Issues a nonce for `realm`, sent to the address `source` (absent on fixed test verifiers:
   * then `issueNonce` is used).
   */
  issue?(realm: string, now: number, random: RandomBytes, source?: string): string;
  /**
   * Whether a nonce `check` accepted was issued to `source` (absent on fixed test verifiers:
   * then every nonce counts as issued to whoever answers it).
   */
  issuedTo?(nonce: string, source: string): boolean;
}

/** Nonces issued last that `check` recognises without recomputing their MAC (FIFO). */
const RECENT_NONCES = 4096;

/**
 * The HMAC nonce scheme above as a {@link NonceVerifier}. It remembers the last
 * {@link RECENT_NONCES} nonces it issued (exact strings, with realm and time): a phone answers a
 * challenge within milliseconds, so the usual check is one map lookup instead of a base64 decode
 * and two SHA-256 passes. Only strings this process produced can be in the map, so a hit is as
 * authentic as a MAC match; a miss (older nonce, other process) takes the full check.
 */
export function createNonceVerifier(opts: NonceOptions): NonceVerifier {
  assertSecret(opts.secret);
  const recent = new Map<
    string,
    { readonly realm: string; readonly issuedAt: number; readonly source: string }
  >();
  // verifyDigest asks `issuedAt` right after `check` for the same nonce: remember it, decode once.
  let lastNonce = '';
  let lastIssuedAt = 0;
  return {
    check: (realm, nonce, now) => {
      const known = recent.get(nonce);
      const hit = known?.realm === realm ? known : undefined;
      const result = hit === undefined ? checkNonce(opts, realm, nonce, now) : byAge(opts, hit.issuedAt, now);
      if (result !== 'invalid') {
        lastNonce = nonce;
        lastIssuedAt = hit?.issuedAt ?? nonceIssuedAt(nonce) ?? 0;
      }
      return result;
    },
    issuedAt: (nonce) => (nonce === lastNonce ? lastIssuedAt : (nonceIssuedAt(nonce) ?? 0)),
    issue: (realm, now, random, source = '') => {
      const nonce = issueNonce(opts, realm, now, random, source);
      recent.set(nonce, { realm, issuedAt: Math.max(0, Math.floor(now)), source });
      if (recent.size > RECENT_NONCES) recent.delete(recent.keys().next().value as string);
      return nonce;
    },
    issuedTo: (nonce, source) => {
      const known = recent.get(nonce);
      return known === undefined ? nonceIssuedTo(opts, nonce, source) : known.source === source;
    },
  };
}
