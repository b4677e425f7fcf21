/**
 * bytes → SipMessage (RFC 3261 §7, §18.3). Never throws, never logs.
 *
 * Order of checks: framing (blank line, limits) → header-section scan (line endings,
 * control characters) → start line → routing headers (derive.ts) → CSeq method → body.
 * Every failure after framing still computes `partial`, so an answerable request gets
 * its 400/413/416/505 (RFC 3261 §8.2.2, RFC 4475 §3.1.2).
 */
import { err, ok, type Result } from '@sipwall/shared';
import { deriveRouting, type RespondFields } from './derive.js';
import { type PartialRequest, parseError, type SipParseError, type SipParseErrorCode } from './errors.js';
import { fastPaths } from './fast-path.js';
import { scanHeaderBytes } from './header-bytes.js';
import { scanHeaderSection } from './header-section.js';
import type { SipMessage } from './message.js';
import { type ParseLimits, type ParseOptions, resolveLimits } from './options.js';
import { parseStartLine } from './start-line.js';

export type { ParseOptions } from './options.js';

const BLANK_LINE = Buffer.from('\r\n\r\n', 'latin1');

/**
 * Parses one complete SIP message (one datagram, or one stream frame cut by Content-Length).
 *
 * - Leading CRLFs are skipped (§7.5); `wire` starts after them.
 * - Content-Length larger than the remaining bytes → `body-too-short` (§18.3, RFC 4475 §3.1.2.2).
 * - Bytes beyond Content-Length are discarded (§18.3, RFC 4475 §3.1.1.8); without a
 *   Content-Length the body runs to the end of the input (datagram rule, §18.3).
 * - Max-Forwards may be absent (`maxForwards: undefined`); the proxy applies §16.6 step 3.
 *
 * @example
 * const r = parseMessage(datagram);
 * if (!r.ok) r.error.canRespond ? reply(createErrorResponse(r.error, { toTag })) : countDrop(r.error.code);
 */
export function parseMessage(bytes: Buffer, opts?: ParseOptions): Result<SipMessage, SipParseError> {
  try {
    return parseUnsafe(bytes, resolveLimits(opts));
  } catch {
    return err(parseError('internal'));
  }
}

function parseUnsafe(bytes: Buffer, limits: ParseLimits): Result<SipMessage, SipParseError> {
  const len = bytes.length;
  let start = 0;
  while (start + 1 < len && bytes[start] === 0x0d && bytes[start + 1] === 0x0a) start += 2;
  if (start >= len) return err(parseError('empty'));

  // Look for the blank line only within the header limit, so huge inputs cost nothing extra.
  const searchEnd = Math.min(len, start + limits.maxHeaderBytes);
  const blank = (searchEnd === len ? bytes : bytes.subarray(0, searchEnd)).indexOf(BLANK_LINE, start);
  if (blank < 0) {
    if (len - start >= limits.maxHeaderBytes) return err(parseError('headers-too-large'));
    return err(unterminated(bytes, start, limits));
  }
  const text = bytes.toString('latin1', start, blank + 2);
  const fast = fastPaths.enabled
    ? scanHeaderBytes(bytes, start, blank + 2, text, limits.maxHeaders)
    : undefined;
  const section = fast ?? scanHeaderSection(text, start, limits.maxHeaders);
  const bodyStart = blank + 4;
  if ('tooMany' in section) return err(parseError('too-many-headers'));

  const line = parseStartLine(section.startLine);
  // After the byte scan, the routing scanners read the values in place (header-bytes.ts valueBounds).
  const derived = deriveRouting(section.headers, true, fast === undefined ? undefined : text);
  const routing = derived.routing;
  const sl = line.ok ? line.value : undefined;
  let code: SipParseErrorCode | undefined;
  let position: number | undefined;
  let header: string | undefined;
  let end = 0;
  if (section.defect !== undefined) {
    code = section.defect.code;
    position = section.defect.position;
  } else if (!line.ok) {
    code = line.code;
    position = start;
  } else if (routing === undefined) {
    code = derived.failure?.code ?? 'internal';
    header = derived.failure?.header;
  } else if (sl?.kind === 'request' && routing.cseq.method !== sl.method) {
    // RFC 3261 §8.2.2 / RFC 4475 §3.1.2.17: CSeq method must match the request method.
    code = 'cseq-method-mismatch';
    header = 'cseq';
  } else {
    const available = len - bodyStart;
    const bodyLength = routing.contentLength ?? available;
    if (bodyLength > available) {
      code = 'body-too-short';
      header = 'content-length';
    } else if (bodyStart + bodyLength - start > limits.maxMessageBytes) {
      code = 'message-too-large';
    }
    end = bodyStart + bodyLength;
  }
  if (code !== undefined || routing === undefined || sl === undefined) {
    const isRequest = line.ok ? line.value.kind === 'request' : line.isRequest;
    let partial = isRequest
      ? toPartial(derived.respond, sl?.kind === 'request' ? sl.method : undefined)
      : undefined;
    if (partial !== undefined && section.defect !== undefined && !isClean(partial)) partial = undefined;
    return err(parseError(code ?? 'internal', { position, header, partial }));
  }

  // Explicit literals (not spreads) keep one hidden class per kind: this is the hot path.
  const body = bytes.subarray(bodyStart, end);
  const wire = bytes.subarray(start, end);
  if (sl.kind === 'request') {
    return ok({
      kind: 'request',
      method: sl.method,
      requestUri: sl.requestUri,
      version: sl.version,
      startLine: section.startLine,
      headers: section.headers,
      body,
      via: routing.via,
      from: routing.from,
      to: routing.to,
      callId: routing.callId,
      cseq: routing.cseq,
      maxForwards: routing.maxForwards,
      contentLength: routing.contentLength,
      wire,
    });
  }
  return ok({
    kind: 'response',
    status: sl.status,
    reason: sl.reason,
    version: sl.version,
    startLine: section.startLine,
    headers: section.headers,
    body,
    via: routing.via,
    from: routing.from,
    to: routing.to,
    callId: routing.callId,
    cseq: routing.cseq,
    maxForwards: routing.maxForwards,
    contentLength: routing.contentLength,
    wire,
  });
}

/**
 * A message whose header section never ends (no blank line): nothing to parse, but a request
 * whose lines all end in CRLF can still be read for an answer (RFC 4475 §3.1.2.15's archived
 * `baddn` ends this way): the first defect of its header section, else `no-header-end`.
 */
function unterminated(bytes: Buffer, start: number, limits: ParseLimits): SipParseError {
  const len = bytes.length;
  if (len - start < 2 || bytes[len - 2] !== 0x0d || bytes[len - 1] !== 0x0a)
    return parseError('no-header-end');
  const section = scanHeaderSection(bytes.toString('latin1', start, len), start, limits.maxHeaders);
  if ('tooMany' in section) return parseError('too-many-headers');
  const line = parseStartLine(section.startLine);
  const isRequest = line.ok ? line.value.kind === 'request' : line.isRequest;
  if (!isRequest) return parseError('no-header-end');
  const derived = deriveRouting(section.headers, true);
  let partial = toPartial(
    derived.respond,
    line.ok && line.value.kind === 'request' ? line.value.method : undefined,
  );
  if (partial !== undefined && section.defect !== undefined && !isClean(partial)) partial = undefined;
  const code =
    section.defect?.code ?? (line.ok ? undefined : line.code) ?? derived.failure?.code ?? 'no-header-end';
  const header = section.defect === undefined && line.ok ? derived.failure?.header : undefined;
  return parseError(code, { header, partial });
}

function toPartial(
  fields: RespondFields | undefined,
  method: string | undefined,
): PartialRequest | undefined {
  if (fields === undefined) return undefined;
  return { method: method ?? fields.cseq.value.replace(/^\d+\s+/, ''), ...fields };
}

/** The copied fields must be free of control characters (other than folding) to be echoed. */
function isClean(p: PartialRequest): boolean {
  for (const f of [...p.via, p.from, p.to, p.callId, p.cseq]) {
    if (f === undefined) continue;
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(f.raw.replace(/\r\n(?=[ \t])/g, '').slice(0, -2))) return false;
  }
  return true;
}
