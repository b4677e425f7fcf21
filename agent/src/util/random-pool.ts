import { randomFillSync } from 'node:crypto';

/**
 * Cryptographic random bytes drawn from a pool refilled in bulk: one `randomFillSync` of
 * `poolBytes` serves thousands of nonces and tags, instead of one call into OpenSSL (and one
 * small Buffer) per draw. Bytes are handed out once and never reused.
 */
export interface RandomPool {
  /** `size` fresh bytes (a copy: later refills never change it). */
  bytes(size: number): Uint8Array;
  /** `size` fresh bytes as lower-case hex. */
  hex(size: number): string;
  /** `size` fresh bytes as unpadded base64url. */
  base64url(size: number): string;
}

/** `fill` is injected so tests can pin the bytes; the agent passes `crypto.randomFillSync`. */
export function createRandomPool(
  poolBytes = 64 * 1024,
  fill: (buf: Buffer) => void = (buf) => {
    randomFillSync(buf);
  },
): RandomPool {
  const pool = Buffer.allocUnsafe(poolBytes);
  let offset = poolBytes;
  const take = (size: number): number => {
    if (size > poolBytes)
      throw new RangeError(`cannot draw ${size} random bytes from a ${poolBytes}-byte pool`);
    if (offset + size > poolBytes) {
      fill(pool);
      offset = 0;
    }
    const at = offset;
    offset += size;
    return at;
  };
  return {
    bytes(size) {
      const at = take(size);
      const out = Buffer.allocUnsafe(size); // from Node's shared slab, not an ArrayBuffer of its own
      pool.copy(out, 0, at, at + size);
      return out;
    },
    hex(size) {
      const at = take(size);
      return pool.toString('hex', at, at + size);
    },
    base64url(size) {
      const at = take(size);
      return pool.toString('base64url', at, at + size);
    },
  };
}
