/**
 * Fast path of the header-section scan (RFC 3261 §7, §7.3): one pass over the bytes that
 * finds each CRLF and each line's first `:` and rejects control characters on the way.
 * Handles only the common shape — every line `token ":" value CRLF`, no folding, no stray
 * CR/LF or control characters, no LWS before the colon — and returns `undefined` for
 * anything else so `scanHeaderSection` (the general scan) decides, defects included.
 */
import { headerKey } from './compact-forms.js';
import type { HeaderSection } from './header-section.js';
import type { HeaderField } from './message.js';
import { TOKEN_CHARS } from './scan.js';

/** 0 = ordinary octet, 1 = needs the general scan (CTL other than HT, DEL, lone LF), 2 = CR, 3 = ":". */
const CLASS = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) CLASS[c] = 1;
CLASS[0x7f] = 1;
CLASS[0x09] = 0;
CLASS[0x0d] = 2;
CLASS[0x3a] = 3;

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
  const headers: HeaderField[] = [];
  let startLine: string | undefined;
  let lineStart = start;
  let colon = -1;
  for (let i = start; i < end; i++) {
    const k = CLASS[bytes[i] as number];
    if (k === 0) continue;
    if (k === 3) {
      if (colon < 0) colon = i;
      continue;
    }
    // CRLF ends a line (§7); a lone CR or any other control character → general scan.
    if (k !== 2 || bytes[i + 1] !== 0x0a) return undefined;
    if (startLine === undefined) {
      startLine = text.slice(0, i - start);
    } else {
      const f = field(bytes, text, start, lineStart, colon, i);
      if (f === undefined) return undefined;
      if (headers.push(f) > maxHeaders) return { tooMany: true };
    }
    i++;
    lineStart = i + 1;
    colon = -1;
  }
  if (startLine === undefined || lineStart !== end) return undefined;
  return { startLine, headers, defect: undefined };
}

/** message-header = field-name HCOLON field-value CRLF (§25.1), HCOLON here without leading LWS. */
function field(
  bytes: Buffer,
  text: string,
  base: number,
  lineStart: number,
  colon: number,
  lineEnd: number,
): HeaderField | undefined {
  if (colon <= lineStart) return undefined; // no colon, empty name, or a folded line (starts with SP/HT)
  for (let j = lineStart; j < colon; j++) if (TOKEN_CHARS[bytes[j] as number] !== 1) return undefined;
  let vs = colon + 1;
  while (vs < lineEnd && (bytes[vs] === 0x20 || bytes[vs] === 0x09)) vs++;
  let ve = lineEnd;
  while (ve > vs && (bytes[ve - 1] === 0x20 || bytes[ve - 1] === 0x09)) ve--;
  const known = knownName(bytes, lineStart, colon);
  const name = known >= 0 ? (KNOWN_NAMES[known] as string) : text.slice(lineStart - base, colon - base);
  return {
    name,
    key: known >= 0 ? (KNOWN_KEYS[known] as string) : headerKey(name),
    value: text.slice(vs - base, ve - base),
    raw: text.slice(lineStart - base, lineEnd + 2 - base),
  };
}
