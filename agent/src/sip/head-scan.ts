/**
 * A cheap look at a request's raw bytes, for decisions taken before the message is parsed (load
 * shedding): the method, the top Via's transport, sent-by and branch (what a retransmission
 * matches on, RFC 3261 §17.2.3), whether To has a tag (an in-dialog request, §12.2) and whether
 * credentials are present; plus the stateless answer built from the same bytes.
 *
 * One pass over the header lines, no strings but the few it returns. It accepts only the plain
 * shapes (no line folding in the fields it reads, one sent-by, a token method): anything else
 * returns `undefined`, and the caller hands the message to the full parser as usual.
 */

export interface RequestHead {
  readonly method: string;
  /** Top Via transport, upper-case (`UDP`). */
  readonly transport: string;
  /** Top Via sent-by host, lower-cased, IPv6 with brackets (as `Via.host` of the parser). */
  readonly host: string;
  readonly port: number | undefined;
  /** Top Via branch, or undefined. */
  readonly branch: string | undefined;
  /** RFC 3261 §12.2: a To tag marks a request inside a dialog. */
  readonly toTag: boolean;
  /** An Authorization or Proxy-Authorization header field is present (the second leg of a challenge). */
  readonly credentials: boolean;
  /** Offsets into the bytes: every Via line, then From, To, Call-ID, CSeq (each `[start, end)` with CRLF). */
  readonly copy: readonly number[];
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;

/** Lower-cased first byte of the names the scan cares about. */
enum Field {
  Other = 0,
  Via = 1,
  From = 2,
  To = 3,
  CallId = 4,
  CSeq = 5,
  Credentials = 6,
}

const lower = (c: number): number => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c);

function nameIs(b: Buffer, start: number, end: number, name: string): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (lower(b[start + i]!) !== name.charCodeAt(i)) return false;
  return true;
}

/** Which header field `b[start, end)` names (long or compact form, any case). */
function fieldOf(b: Buffer, start: number, end: number): Field {
  switch (lower(b[start]!)) {
    case 0x76: // v
      return end - start === 1 || nameIs(b, start, end, 'via') ? Field.Via : Field.Other;
    case 0x66: // f
      return end - start === 1 || nameIs(b, start, end, 'from') ? Field.From : Field.Other;
    case 0x74: // t
      return end - start === 1 || nameIs(b, start, end, 'to') ? Field.To : Field.Other;
    case 0x69: // i
      return end - start === 1 ? Field.CallId : Field.Other;
    case 0x63: // c
      if (nameIs(b, start, end, 'call-id')) return Field.CallId;
      return nameIs(b, start, end, 'cseq') ? Field.CSeq : Field.Other;
    case 0x61: // a
      return nameIs(b, start, end, 'authorization') ? Field.Credentials : Field.Other;
    case 0x70: // p
      return nameIs(b, start, end, 'proxy-authorization') ? Field.Credentials : Field.Other;
    default:
      return Field.Other;
  }
}

const isToken = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) ||
  (c >= 0x41 && c <= 0x5a) ||
  (c >= 0x61 && c <= 0x7a) ||
  c === 0x2d ||
  c === 0x2e ||
  c === 0x21 ||
  c === 0x25 ||
  c === 0x2a ||
  c === 0x5f ||
  c === 0x2b ||
  c === 0x60 ||
  c === 0x27 ||
  c === 0x7e;

/**
 * Scans a request's start line and header section. `undefined` for a response, a message that
 * does not start like a request, a header section without its blank line within `maxHeaderBytes`,
 * folding in a field the scan reads, or a top Via it does not read simply.
 */
export function scanRequestHead(b: Buffer, maxHeaderBytes = 16_384): RequestHead | undefined {
  const len = Math.min(b.length, maxHeaderBytes);
  let i = 0;
  while (i + 1 < len && b[i] === CR && b[i + 1] === LF) i += 2;
  const methodStart = i;
  while (i < len && isToken(b[i]!)) i++;
  if (i === methodStart || i >= len || b[i] !== SP) return undefined;
  const method = b.toString('latin1', methodStart, i); // a status line stops at its "/": not a request
  let lineEnd = b.indexOf(LF, i);
  if (lineEnd < 0 || lineEnd >= len || b[lineEnd - 1] !== CR) return undefined;

  const copy: number[] = [];
  /** [start, end) of From, To, Call-ID, CSeq (the first of each). */
  const rest = [-1, -1, -1, -1, -1, -1, -1, -1];
  let via:
    | { transport: string; host: string; port: number | undefined; branch: string | undefined }
    | undefined;
  let toTag = false;
  let credentials = false;
  let last: Field = Field.Other;
  for (;;) {
    const start = lineEnd + 1;
    if (start + 1 >= len) return undefined; // no blank line within the limit
    if (b[start] === CR && b[start + 1] === LF) break; // end of the header section
    lineEnd = b.indexOf(LF, start);
    if (lineEnd < 0 || lineEnd >= len || b[lineEnd - 1] !== CR) return undefined;
    const first = b[start]!;
    if (first === SP || first === HT) {
      // Folding (§7.3.1): fine in fields the scan does not read, too rare to handle in those it does.
      if (last !== Field.Other && last !== Field.Credentials) return undefined;
      continue;
    }
    let colon = start;
    while (colon < lineEnd && b[colon] !== COLON && b[colon] !== SP && b[colon] !== HT) colon++;
    const field = colon > start ? fieldOf(b, start, colon) : Field.Other;
    last = field;
    switch (field) {
      case Field.Via:
        if (via === undefined) {
          via = scanTopVia(b, colon, lineEnd - 1);
          if (via === undefined) return undefined;
        }
        copy.push(start, lineEnd + 1);
        break;
      case Field.From:
      case Field.To:
      case Field.CallId:
      case Field.CSeq: {
        const at = 2 * (field - Field.From);
        if (rest[at]! >= 0) break;
        rest[at] = start;
        rest[at + 1] = lineEnd + 1;
        if (field === Field.To) toTag = hasTagParam(b, colon, lineEnd - 1);
        break;
      }
      case Field.Credentials:
        credentials = true;
        break;
      default:
        break;
    }
  }
  if (via === undefined || rest.includes(-1)) return undefined;
  // From, To, Call-ID, CSeq in that order whatever the request's order (§8.2.6.2 copies them).
  for (const at of rest) copy.push(at);
  return { method, ...via, toTag, credentials, copy };
}

/** `: SIP/2.0/UDP host[:port] *(;param)` — one via-parm only (a comma means more: undefined). */
function scanTopVia(
  b: Buffer,
  colon: number,
  end: number,
): { transport: string; host: string; port: number | undefined; branch: string | undefined } | undefined {
  let i = colon;
  while (i < end && (b[i] === SP || b[i] === HT)) i++;
  if (b[i] !== COLON) return undefined;
  i++;
  while (i < end && (b[i] === SP || b[i] === HT)) i++;
  // sent-protocol: "SIP/2.0/" exactly (anything looser goes to the parser)
  if (end - i < 9 || b.toString('latin1', i, i + 8).toUpperCase() !== 'SIP/2.0/') return undefined;
  i += 8;
  const tStart = i;
  while (i < end && isToken(b[i]!)) i++;
  if (i === tStart || (b[i] !== SP && b[i] !== HT)) return undefined;
  const transport = b.toString('latin1', tStart, i).toUpperCase();
  while (i < end && (b[i] === SP || b[i] === HT)) i++;
  const hStart = i;
  if (b[i] === 0x5b) {
    // [IPv6]
    while (i < end && b[i] !== 0x5d) i++;
    if (i >= end) return undefined;
    i++;
  } else {
    while (i < end && isToken(b[i]!)) i++;
  }
  if (i === hStart || (i < end && b[i] !== COLON && b[i] !== 0x3b && b[i] !== SP && b[i] !== HT))
    return undefined;
  const host = b.toString('latin1', hStart, i).toLowerCase();
  let port: number | undefined;
  if (b[i] === COLON) {
    i++;
    const pStart = i;
    let n = 0;
    while (i < end && b[i]! >= 0x30 && b[i]! <= 0x39 && i - pStart < 5) n = n * 10 + b[i++]! - 0x30;
    if (i === pStart || n > 65535) return undefined;
    port = n;
  }
  let branch: string | undefined;
  while (i < end) {
    const c = b[i]!;
    if (c === 0x2c) return undefined; // a second via-parm on the line
    if (
      c === 0x3b &&
      branch === undefined &&
      end - i > 8 &&
      b.toString('latin1', i + 1, i + 8).toLowerCase() === 'branch='
    ) {
      const vStart = i + 8;
      let v = vStart;
      while (v < end && isToken(b[v]!)) v++;
      branch = b.toString('latin1', vStart, v);
      i = v;
      continue;
    }
    if (c === 0x22) return undefined; // quoted param values: the parser's job
    i++;
  }
  return { transport, host, port, branch };
}

/** A `tag` header parameter in a To value (after the `>` of a name-addr, else after the addr-spec). */
function hasTagParam(b: Buffer, colon: number, end: number): boolean {
  let from = colon + 1;
  const gt = b.lastIndexOf(0x3e, end - 1);
  if (gt > colon) from = gt + 1;
  for (let i = b.indexOf(0x3b, from); i >= 0 && i < end; i = b.indexOf(0x3b, i + 1)) {
    let j = i + 1;
    while (j < end && (b[j] === SP || b[j] === HT)) j++;
    if (end - j >= 3 && lower(b[j]!) === 0x74 && lower(b[j + 1]!) === 0x61 && lower(b[j + 2]!) === 0x67) {
      let k = j + 3;
      while (k < end && (b[k] === SP || b[k] === HT)) k++;
      if (b[k] === 0x3d) return true;
    }
  }
  return false;
}

/**
 * A stateless response to the scanned request (RFC 3261 §8.2.6.2): status line, the Via lines,
 * From, To (with `toTag` added when the request's To has none), Call-ID and CSeq copied byte for
 * byte, then `headers`, `Content-Length: 0`.
 */
export function statelessResponseBytes(
  b: Buffer,
  head: RequestHead,
  status: number,
  reason: string,
  headers: ReadonlyArray<readonly [string, string]>,
  toTag: string | undefined,
): Buffer {
  let text = `SIP/2.0 ${status} ${reason}\r\n`;
  const c = head.copy;
  const toAt = c.length - 6; // From, To, Call-ID, CSeq are the last four pairs
  for (let k = 0; k < c.length; k += 2) {
    if (k === toAt && toTag !== undefined && !head.toTag) {
      text += `${b.toString('latin1', c[k]!, c[k + 1]! - 2)};tag=${toTag}\r\n`;
      continue;
    }
    text += b.toString('latin1', c[k]!, c[k + 1]!);
  }
  for (const [name, value] of headers) text += `${name}: ${value}\r\n`;
  text += 'Content-Length: 0\r\n\r\n';
  return Buffer.from(text, 'latin1');
}
