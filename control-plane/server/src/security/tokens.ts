import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A random secret for cookies, enrollment tokens and MQTT passwords (base64url, 256 bits by default). */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** SHA-256 of a high-entropy token, used as its lookup key (never store the token itself). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** Constant-time string comparison. */
export function safeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** `ag-` + 12 lowercase base32 characters: always satisfies `isValidAgentId`. */
export function newAgentId(): string {
  const bytes = randomBytes(12);
  let s = '';
  for (const b of bytes) s += BASE32[b & 31];
  return `ag-${s}`;
}

/**
 * Stored form of a machine secret (an agent's MQTT password: 192+ random bits, never chosen by a
 * person): `sha256$<digest>`. A slow KDF adds nothing against guessing such a secret and would cost
 * a fleet of 10,000 agents reconnecting after a broker restart minutes of scrypt; people's
 * passwords stay on scrypt (`password.ts`).
 */
export function hashMachineSecret(secret: string): string {
  return `sha256$${hashToken(secret)}`;
}

/** Checks a machine secret against `hashMachineSecret`'s form; false for any other form. */
export function verifyMachineSecret(secret: string, stored: string): boolean {
  if (!stored.startsWith('sha256$')) return false;
  return safeEqual(hashToken(secret), stored.slice('sha256$'.length));
}
