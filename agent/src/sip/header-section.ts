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
  let defect: Defect | undefined;
  let startLine = '';
  let fieldStart = -1;
  let folded = false;
  let lineStart = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c !== 0x7f) continue;
    if (c === 0x09) continue;
    if (c === 0x0d && text.charCodeAt(i + 1) === 0x0a) {
      // End of a line at i; the next line starts at i + 2.
      if (lineStart === 0) {
        startLine = text.slice(0, i);
      } else {
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
      }
      i++;
      lineStart = i + 1;
      continue;
    }
    defect ??= { code: c === 0x0d || c === 0x0a ? 'bad-line-ending' : 'control-char', position: base + i };
  }
  if (fieldStart >= 0 && !pushField(headers, text, fieldStart, n, folded)) {
    defect ??= { code: 'bad-header-line', position: base + fieldStart };
  }
  if (headers.length > maxHeaders) return { tooMany: true };
  return { startLine, headers, defect };
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
