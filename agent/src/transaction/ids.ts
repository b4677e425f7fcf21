import { createRandomPool, type RandomPool } from '../util/random-pool.js';
import { MAGIC_COOKIE } from './keys.js';

/** Source of branches and tags; injected so tests get deterministic ids. */
export interface IdGenerator {
  /** A fresh RFC 3261 §8.1.1.7 branch: magic cookie + ≥ 64 random bits. */
  branch(): string;
  /** A fresh From/To tag (§19.3: ≥ 32 random bits). */
  tag(): string;
}

/** The one place that draws randomness for SIP identifiers (from a bulk-refilled pool). */
export function createCryptoIds(pool: RandomPool = createRandomPool()): IdGenerator {
  return {
    branch: () => `${MAGIC_COOKIE}${pool.base64url(12)}`,
    tag: () => pool.hex(8),
  };
}
