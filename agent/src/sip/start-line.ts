/** Request-Line / Status-Line (RFC 3261 §7.1, §7.2, §25.1). */
import type { SipParseErrorCode } from './errors.js';
import type { Uri } from './message.js';
import { isToken, parseDigits } from './scan.js';
import { parseUri } from './uri.js';

export type StartLine =
  | { kind: 'request'; method: string; requestUri: Uri; version: string }
  | { kind: 'response'; status: number; reason: string; version: string };

export type StartLineResult =
  | { ok: true; value: StartLine }
  /** `method` is known when the line had the request shape (used to answer 505/416). */
  | { ok: false; code: SipParseErrorCode; isRequest: boolean };

const VERSION_RE = /^SIP\/\d+\.\d+$/i;

function isSip20(v: string): boolean {
  return v === 'SIP/2.0' || (v.length === 7 && v.toUpperCase() === 'SIP/2.0');
}

export function parseStartLine(line: string): StartLineResult {
  // "SIP/" in any case, by char codes (| 0x20 lower-cases letters; "/" compared exactly).
  if (
    line.length >= 4 &&
    (line.charCodeAt(0) | 0x20) === 0x73 &&
    (line.charCodeAt(1) | 0x20) === 0x69 &&
    (line.charCodeAt(2) | 0x20) === 0x70 &&
    line.charCodeAt(3) === 0x2f
  )
    return parseStatusLine(line);
  return parseRequestLine(line);
}

/** Method SP Request-URI SP SIP-Version, exactly one SP each (RFC 4475 §3.1.2.9, §3.1.2.10). */
function parseRequestLine(line: string): StartLineResult {
  const sp1 = line.indexOf(' ');
  const sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || line.indexOf(' ', sp2 + 1) >= 0) {
    return { ok: false, code: 'bad-start-line', isRequest: true };
  }
  const method = line.slice(0, sp1);
  const uriText = line.slice(sp1 + 1, sp2);
  const version = line.slice(sp2 + 1);
  if (!isToken(method)) return { ok: false, code: 'bad-method', isRequest: true };
  // 'SIP/2.0' as written passes both checks below; anything else takes them in order.
  if (version !== 'SIP/2.0' && !VERSION_RE.test(version)) {
    return { ok: false, code: 'bad-start-line', isRequest: true };
  }
  // RFC 3261 §8.2.2 order: version first → 505 (RFC 4475 §3.1.2.16).
  if (!isSip20(version)) return { ok: false, code: 'unsupported-version', isRequest: true };
  const requestUri = parseUri(uriText);
  if (requestUri === undefined) return { ok: false, code: 'bad-request-uri', isRequest: true };
  // §8.2.2.1: a scheme we do not understand → 416 (RFC 4475 §3.3.2, §3.3.3).
  if (requestUri.kind === 'absolute') return { ok: false, code: 'unsupported-uri-scheme', isRequest: true };
  // §19.1.1 table: the headers component is not allowed in a Request-URI (RFC 4475 §3.1.2.11).
  if (requestUri.kind === 'sip' && requestUri.headers.length > 0) {
    return { ok: false, code: 'bad-request-uri', isRequest: true };
  }
  return { ok: true, value: { kind: 'request', method, requestUri, version } };
}

/** SIP-Version SP Status-Code SP Reason-Phrase; status 100–699, exactly 3 digits. */
function parseStatusLine(line: string): StartLineResult {
  const sp1 = line.indexOf(' ');
  if (sp1 < 0) return { ok: false, code: 'bad-start-line', isRequest: false };
  const version = line.slice(0, sp1);
  if (!VERSION_RE.test(version)) return { ok: false, code: 'bad-start-line', isRequest: false };
  if (!isSip20(version)) return { ok: false, code: 'unsupported-version', isRequest: false };
  const sp2 = line.indexOf(' ', sp1 + 1);
  const code = line.slice(sp1 + 1, sp2 < 0 ? line.length : sp2);
  const status = parseDigits(code, 3);
  if (status === undefined || code.length !== 3 || status < 100 || status > 699) {
    return { ok: false, code: 'bad-status-code', isRequest: false };
  }
  // An absent SP before an empty reason is tolerated (RFC 4475 §3.1.1.13 sends "100 ").
  const reason = sp2 < 0 ? '' : line.slice(sp2 + 1);
  return { ok: true, value: { kind: 'response', status, reason, version } };
}
