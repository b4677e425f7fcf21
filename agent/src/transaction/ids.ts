import { randomBytes } from 'node:crypto';
import { MAGIC_COOKIE } from './keys.js';

/** Source of branches and tags; injected so tests get deterministic ids. */
export interface IdGenerator {
  /** A fresh RFC 3261 §8.1.1.7 branch: magic cookie + ≥ 64 random bits. */
  branch(): string;
  /** A fresh From/To tag (§19.3: ≥ 32 random bits). */
  tag(): string;
}

/** The one place that draws randomness for SIP identifiers. */
export function createCryptoIds(): IdGenerator {
  return {
    branch: () => `${MAGIC_COOKIE}${randomBytes(12).toString('base64url')}`,
    tag: () => randomBytes(8).toString('hex'),
  };
}
