/**
 * Fast path of the header-section scan (RFC 3261 §7, §7.3): a word-at-a-time octet check
 * that rejects control characters and records each CRLF (`octets.ts`), then one token scan
 * per line up to its `:`.
 * Handles only the common shape — every line `token ":" value CRLF`, no folding, no stray
 * CR/LF or control characters, no LWS before the colon — and returns `undefined` for
 * anything else so `scanHeaderSection` (the general scan) decides, defects included.
 */
import { headerKey } from './compact-forms.js';
import type { HeaderSection } from './header-section.js';
import type { HeaderField } from './message.js';
import { checkOctets, lineFeedCount, lineFeeds } from './octets.js';
import { TOKEN_CHARS } from './scan.js';

/** Usual wire spellings, matched on the bytes so the common names cost no string or Map lookup. */
const KNOWN_NAMES = [
  'Via',
  'From',
  'To',
  'Call-ID',
  'CSeq',
  'Max-Forwards',
  'Content-Length',
  'Content-Type',
  'Contact',
  'Record-Route',
  'Route',
  'Allow',
  'Supported',
  'User-Agent',
  'Server',
  'Expires',
  'Authorization',
  'WWW-Authenticate',
  'Proxy-Authenticate',
  'Proxy-Authorization',
  'Session-Expires',
  'Require',
  'Accept',
  'Subject',
  'Date',
  'Min-Expires',
  'Allow-Events',
  'Event',
  'Path',
  'Min-SE',
  'Reason',
  'Privacy',
  'P-Asserted-Identity',
  'Call-Id',
  'Cseq',
  'v',
  'f',
  't',
  'i',
  'm',
  'l',
  'c',
  'k',
];
const KNOWN_KEYS = KNOWN_NAMES.map(headerKey);
/** Candidate indexes by name length. */
const BY_LENGTH: number[][] = [];
for (const [i, n] of KNOWN_NAMES.entries()) {
  const list = BY_LENGTH[n.length] ?? [];
  list.push(i);
  BY_LENGTH[n.length] = list;
}

/** Index in KNOWN_NAMES of the exact spelling `bytes[a, b)`, or -1. */
function knownName(bytes: Buffer, a: number, b: number): number {
  const candidates = BY_LENGTH[b - a];
  if (candidates === undefined) return -1;
  for (let k = 0; k < candidates.length; k++) {
    const idx = candidates[k] as number;
    const n = KNOWN_NAMES[idx] as string;
    let j = 0;
    while (j < n.length && bytes[a + j] === n.charCodeAt(j)) j++;
    if (j === n.length) return idx;
  }
  return -1;
}

/**
 * Value bounds of the fields found by the last successful `scanHeaderBytes` (module scratch,
 * read right after the call): field k's value is `text.slice(valueBounds[2k], valueBounds[2k + 1])`,
 * so the routing-header scanners can run on `text` without a substring per value.
 */
export let valueBounds = new Int32Array(128);

/**
 * `bytes[start, end)` is the header section ending in the last field's CRLF; `text` is the
 * same range as a latin1 string (so `text` index = byte index − start).
 */
export function scanHeaderBytes(
  bytes: Buffer,
  start: number,
  end: number,
  text: string,
  maxHeaders: number,
): HeaderSection | { tooMany: true } | undefined {
  // No stray CR/LF or control characters; every line ends in CRLF (§7) — else the general scan.
  if (!checkOctets(bytes, start, end)) return undefined;
  const lines = lineFeedCount;
  const lfs = lineFeeds;
  if (lines === 0 || lfs[lines - 1] !== end - 1) return undefined;
  const headers: HeaderField[] = [];
  const startLine = text.slice(0, (lfs[0] as number) - 1 - start);
  if (valueBounds.length < 2 * lines) valueBounds = new Int32Array(4 * lines);
  for (let k = 1; k < lines; k++) {
    const f = field(bytes, text, start, (lfs[k - 1] as number) + 1, (lfs[k] as number) - 1, k - 1);
    if (f === undefined) return undefined;
    if (headers.push(f) > maxHeaders) return { tooMany: true };
  }
  return { startLine, headers, defect: undefined };
}

/**
 * message-header = field-name HCOLON field-value CRLF (§25.1), HCOLON here without leading
 * LWS: field-name = token, so the first non-token octet must be the ":" (a folded line,
 * starting with SP/HT, or an empty name fails here and goes to the general scan).
 */
function field(
  bytes: Buffer,
  text: string,
  base: number,
  lineStart: number,
  lineEnd: number,
  headerIndex: number,
): HeaderField | undefined {
  let colon = lineStart;
  while (colon < lineEnd && TOKEN_CHARS[bytes[colon] as number] === 1) colon++;
  if (colon === lineStart || colon === lineEnd || bytes[colon] !== 0x3a) return undefined;
  let vs = colon + 1;
  while (vs < lineEnd && (bytes[vs] === 0x20 || bytes[vs] === 0x09)) vs++;
  let ve = lineEnd;
  while (ve > vs && (bytes[ve - 1] === 0x20 || bytes[ve - 1] === 0x09)) ve--;
  const slot = 2 * headerIndex;
  valueBounds[slot] = vs - base;
  valueBounds[slot + 1] = ve - base;
  const known = knownName(bytes, lineStart, colon);
  const name = known >= 0 ? (KNOWN_NAMES[known] as string) : text.slice(lineStart - base, colon - base);
  return {
    name,
    key: known >= 0 ? (KNOWN_KEYS[known] as string) : headerKey(name),
    value: text.slice(vs - base, ve - base),
    raw: text.slice(lineStart - base, lineEnd + 2 - base),
  };
}
