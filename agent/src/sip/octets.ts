/**
 * Octet check of a header section, four bytes at a time (RFC 3261 §7, §25.1): the fast
 * path admits only lines of non-control octets (HT allowed, as in LWS) ending in CRLF.
 * Word-at-a-time tests skip the plain words; a word holding any octet below 0x20 or DEL
 * is checked byte by byte, and each LF (which must follow a CR) is recorded as a line end.
 */

/** LF offsets found by the last `checkOctets` (module scratch, read right after the call). */
export let lineFeeds = new Int32Array(256);
/** Number of entries in `lineFeeds`. */
export let lineFeedCount = 0;
let carriageReturns = 0;

const HIGH = 0x80808080 | 0;
const LOW = 0x20202020;
const ONES = 0x01010101;
const DEL = 0x7f7f7f7f;

/**
 * True when `bytes[start, end)` holds no CTL other than HT, CR and LF, no DEL, every LF
 * follows a CR and every CR precedes an LF (bare CR / bare LF are defects, §7). Fills
 * `lineFeeds` with the LF offsets in order.
 */
export function checkOctets(bytes: Buffer, start: number, end: number): boolean {
  lineFeedCount = 0;
  carriageReturns = 0;
  const abs = bytes.byteOffset + start;
  let i = start;
  // Words only from the first 4-aligned offset; the ends go byte by byte.
  const head = Math.min(end, start + ((4 - (abs & 3)) & 3));
  for (; i < head; i++) if (!octet(bytes, start, i)) return false;
  const words = (end - i) >> 2;
  if (words > 0) {
    const w32 = new Int32Array(bytes.buffer, bytes.byteOffset + i, words);
    for (let k = 0; k < words; k++) {
      const w = w32[k] as number;
      const x = w ^ DEL;
      // Any byte < 0x20: (w − 0x20…) & ~w & 0x80…; any byte = 0x7f: the same zero test on w ^ 0x7f….
      if ((((w - LOW) & ~w) | ((x - ONES) & ~x)) & HIGH) {
        const b = i + 4 * k;
        if (!octet(bytes, start, b)) return false;
        if (!octet(bytes, start, b + 1)) return false;
        if (!octet(bytes, start, b + 2)) return false;
        if (!octet(bytes, start, b + 3)) return false;
      }
    }
    i += 4 * words;
  }
  for (; i < end; i++) if (!octet(bytes, start, i)) return false;
  return carriageReturns === lineFeedCount;
}

/** One octet: VCHAR / UTF8-NONASCII / SP / HT pass; CR is counted; LF must follow a CR. */
function octet(bytes: Buffer, start: number, i: number): boolean {
  const c = bytes[i] as number;
  if ((c >= 0x20 && c !== 0x7f) || c === 0x09) return true;
  if (c === 0x0d) {
    carriageReturns++;
    return true;
  }
  if (c !== 0x0a || i === start || bytes[i - 1] !== 0x0d) return false;
  if (lineFeedCount === lineFeeds.length) {
    const grown = new Int32Array(lineFeeds.length * 2);
    grown.set(lineFeeds);
    lineFeeds = grown;
  }
  lineFeeds[lineFeedCount++] = i;
  return true;
}
