/**
 * Splits the header section (start line + fields, RFC 3261 §7) into raw fields.
 * Lines end in CRLF; a line starting with SP/HT continues the previous field (LWS folding, §7.3.1).
 * Control characters other than HT are recorded as the first defect but scanning continues,
 * so an answerable request can still get its 400.
 */
import type { SipParseErrorCode } from './errors.js';
import type { HeaderField } from './message.js';
import { headerKey } from './compact-forms.js';
import { isToken, trimWsp } from './scan.js';

export interface Defect {
  readonly code: SipParseErrorCode;
  readonly position: number;
}

export interface HeaderSection {
  readonly startLine: string;
  readonly headers: HeaderField[];
  readonly defect: Defect | undefined;
}

/**
 * `text` is the header section up to and including the last field's CRLF (no blank line).
 * `base` is the byte offset of `text` in the input, for error positions.
 */
export function scanHeaderSection(
  text: string,
  base: number,
  maxHeaders: number,
): HeaderSection | { tooMany: true } {
  const headers: HeaderField[] = [];
  // One native pass for the common case: no stray CR/LF and no control characters.
  let defect = STRAY.test(text) ? findDefect(text, base) : undefined;
  const n = text.length;
  let lineEnd = text.indexOf('\r\n');
  const startLine = text.slice(0, lineEnd < 0 ? n : lineEnd);
  let fieldStart = -1;
  let folded = false;
  let lineStart = lineEnd + 2;
  while (lineEnd >= 0 && lineStart < n) {
    lineEnd = text.indexOf('\r\n', lineStart);
    if (lineEnd < 0) lineEnd = n;
    const first = text.charCodeAt(lineStart);
    if (first === 0x20 || first === 0x09) {
      if (fieldStart < 0) defect ??= { code: 'bad-header-line', position: base + lineStart };
      folded = true;
    } else {
      if (fieldStart >= 0 && !pushField(headers, text, fieldStart, lineStart, folded)) {
        defect ??= { code: 'bad-header-line', position: base + fieldStart };
      }
      if (headers.length >= maxHeaders) return { tooMany: true };
      fieldStart = lineStart;
      folded = false;
    }
    lineStart = lineEnd + 2;
  }
  if (fieldStart >= 0 && !pushField(headers, text, fieldStart, n, folded)) {
    defect ??= { code: 'bad-header-line', position: base + fieldStart };
  }
  if (headers.length > maxHeaders) return { tooMany: true };
  return { startLine, headers, defect };
}

/** Control characters other than HT, or CR/LF not forming CRLF. */
const STRAY = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)|(?<!\r)\n/;

/**
 * First control character or stray CR/LF. Inside a quoted-string a quoted-pair may escape any
 * octet but CR and LF (§25.1: quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)), so RFC 4475
 * §3.1.1.2's `"BEL:\<07> NUL:\<00> DEL:\<7F>"` is legal; a bare control character is not, even
 * quoted. A quote left open at the end of a line (not folded) closes there.
 */
function findDefect(text: string, base: number): Defect | undefined {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (quoted && c === 0x5c) {
      const next = text.charCodeAt(i + 1);
      if (next !== 0x0d && next !== 0x0a && i + 1 < text.length) {
        i++;
        continue;
      }
    }
    if ((c >= 0x20 && c !== 0x7f) || c === 0x09) {
      if (c === 0x22) quoted = !quoted;
      continue;
    }
    if (c === 0x0d && text.charCodeAt(i + 1) === 0x0a) {
      const after = text.charCodeAt(i + 2);
      if (after !== 0x20 && after !== 0x09) quoted = false;
      i++;
      continue;
    }
    return { code: c === 0x0d || c === 0x0a ? 'bad-line-ending' : 'control-char', position: base + i };
  }
  return undefined;
}

function pushField(
  headers: HeaderField[],
  text: string,
  start: number,
  end: number,
  folded: boolean,
): boolean {
  const colon = text.indexOf(':', start);
  if (colon < 0 || colon >= end) return false;
  const name = trimWsp(text.slice(start, colon));
  if (!isToken(name)) return false;
  let value = text.slice(colon + 1, end - 2);
  if (folded) value = value.replace(/[ \t]*\r\n[ \t]+/g, ' ');
  headers.push({ name, key: headerKey(name), value: trimWsp(value), raw: text.slice(start, end) });
  return true;
}
