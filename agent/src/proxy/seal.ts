import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';

/**
 * Deterministic authenticated encryption of short texts for the agent's own URI and header
 * parameters (topology hiding): AES-256-GCM whose 12-byte IV is an HMAC-SHA-256 of the text, so
 * one text always seals to one token (a Call-ID maps the same way on every message of its dialog)
 * and nothing else about the text leaks. A token that was altered, or sealed under another key,
 * does not open. The result is base64url: only URI-unreserved characters.
 */
export class Sealer {
  private readonly encKey: Buffer;
  private readonly macKey: Buffer;
  /** A call's messages seal and open the same few texts again and again: remember the last ones. */
  private readonly sealed = new Map<string, string>();
  private readonly opened = new Map<string, string | undefined>();

  /** `key`: 64 secret bytes (32 for AES, 32 for the IV's HMAC). */
  constructor(key: Uint8Array) {
    if (key.length !== 64) throw new Error('Sealer: key must be 64 bytes');
    this.encKey = Buffer.from(key.subarray(0, 32));
    this.macKey = Buffer.from(key.subarray(32, 64));
  }

  seal(text: string): string {
    const hit = this.sealed.get(text);
    if (hit !== undefined) return hit;
    const token = this.sealOnce(text);
    remember(this.sealed, text, token);
    // What goes out sealed usually comes back in the answers: opening it then is a lookup.
    remember(this.opened, token, text);
    return token;
  }

  /** The sealed text, or `undefined` for a token that is malformed, altered or foreign. */
  open(token: string): string | undefined {
    if (this.opened.has(token)) return this.opened.get(token);
    const text = this.openOnce(token);
    remember(this.opened, token, text);
    if (text !== undefined) remember(this.sealed, text, token);
    return text;
  }

  private sealOnce(text: string): string {
    const plain = Buffer.from(text, 'latin1');
    const iv = createHmac('sha256', this.macKey).update(plain).digest().subarray(0, 12);
    const cipher = createCipheriv('aes-256-gcm', this.encKey, iv);
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  private openOnce(token: string): string | undefined {
    if (token.length < 38 || token.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
    const raw = Buffer.from(token, 'base64url');
    if (raw.length < 28) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.encKey, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      const plain = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
      return plain.toString('latin1');
    } catch {
      return undefined;
    }
  }
}

const CACHE_ENTRIES = 8192;

/** Bounded memo: when full it starts over (a cheap bound; the working set is the live calls). */
function remember<V>(cache: Map<string, V>, key: string, value: V): void {
  if (cache.size >= CACHE_ENTRIES) cache.clear();
  cache.set(key, value);
}
