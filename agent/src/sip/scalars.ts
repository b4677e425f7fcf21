/** Scalar header grammars: CSeq (§20.16), Max-Forwards (§20.22), Content-Length (§20.14), Call-ID (§20.8), Expires (§20.19). */
import type { CSeq } from './message.js';
import { hasWspOrCtl, isToken, isWsp, parseDigits } from './scan.js';

/** RFC 3261 §8.1.1.5: the sequence number MUST be expressible as a 32-bit unsigned integer and less than 2^31. */
export const MAX_CSEQ = 2 ** 31 - 1;

export function parseCSeq(value: string): CSeq | undefined {
  let i = 0;
  let seq = 0;
  while (i < value.length && value.charCodeAt(i) >= 0x30 && value.charCodeAt(i) <= 0x39) {
    seq = seq * 10 + (value.charCodeAt(i) - 0x30);
    i++;
  }
  // 1*DIGIT, at most 10 of them (as parseDigits(…, 10)), ≤ 2^31 − 1.
  if (i === 0 || i > 10 || seq > MAX_CSEQ) return undefined;
  const ws = i;
  while (i < value.length && isWsp(value.charCodeAt(i))) i++;
  if (i === ws) return undefined;
  const method = value.slice(i);
  return isToken(method) ? { seq, method } : undefined;
}

/** 0–255 (RFC 3261 §20.22 is 1*DIGIT; RFC 4475 §3.1.2.4 treats 300 as invalid). */
export function parseMaxForwards(value: string): number | undefined {
  const n = parseDigits(value, 10);
  return n === undefined || n > 255 ? undefined : n;
}

/** Decimal octet count; more than 10 digits is never a real message. */
export function parseContentLength(value: string): number | undefined {
  return parseDigits(value, 10);
}

/** word ["@" word]: we require one non-empty run without LWS or control characters. */
export function isValidCallId(value: string): boolean {
  return value.length > 0 && !hasWspOrCtl(value);
}

/** Expires delta-seconds: 0 … 2^32-1 (§20.19); larger is malformed (RFC 4475 §3.1.2.4). */
export function parseDeltaSeconds(value: string): number | undefined {
  const n = parseDigits(value, 10);
  return n === undefined || n > 2 ** 32 - 1 ? undefined : n;
}
