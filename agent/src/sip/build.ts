/** Responses built from requests (RFC 3261 §8.2.6) and from parse errors. */
import { headerKey } from './compact-forms.js';
import type { PartialRequest, SipParseError } from './errors.js';
import { fastPaths } from './fast-path.js';
import type { HeaderField, NameAddr, SipRequest, SipResponse } from './message.js';
import { parseMessage } from './parse.js';
import { reasonPhrase } from './reason-phrases.js';

export interface CreateResponseOptions {
  /** To-tag to add when the request's To has none (never for 100, RFC 3261 §8.2.6.2). */
  readonly toTag?: string;
  /** Extra header fields appended after the copied ones, as [name, value]. */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  readonly body?: { readonly bytes: Uint8Array; readonly contentType: string };
}

const UNSAFE = /[\x00-\x08\x0a-\x1f\x7f]/;

function safe(text: string, what: string): string {
  if (UNSAFE.test(text)) throw new Error(`SIP build: ${what} contains control characters`);
  return text;
}

/** What a response copies from its request (§8.2.6.2). */
interface Copied {
  readonly via: readonly HeaderField[];
  readonly from: HeaderField;
  readonly to: HeaderField;
  readonly callId: HeaderField;
  readonly cseq: HeaderField;
  readonly toHasTag: boolean;
}

/** The same from a parse error's partial request: From, To and Call-ID may be missing. */
type CopiedPartial = Omit<PartialRequest, 'method'>;

/** The header section (with the blank line) of a response copying `copied`. */
function composeHead(
  copied: Copied | CopiedPartial,
  status: number,
  reason: string,
  opts: CreateResponseOptions,
  bodyLength: number,
): string {
  let head = `SIP/2.0 ${status} ${safe(reason, 'reason')}\r\n`;
  for (const v of copied.via) head += v.raw;
  if (copied.from !== undefined) head += copied.from.raw;
  // §8.2.6.2: add a To tag unless present already or the response is 100 (§8.2.6.1).
  if (copied.to !== undefined) {
    head += addsToTag(copied, status, opts)
      ? `${copied.to.name}: ${copied.to.value};tag=${safe(opts.toTag!, 'tag')}\r\n`
      : copied.to.raw;
  }
  if (copied.callId !== undefined) head += copied.callId.raw;
  head += copied.cseq.raw;
  for (const [name, value] of opts.headers ?? [])
    head += `${safe(name, 'name')}: ${safe(value, 'value')}\r\n`;
  if (opts.body !== undefined) head += `Content-Type: ${safe(opts.body.contentType, 'type')}\r\n`;
  head += `Content-Length: ${bodyLength}\r\n\r\n`;
  return head;
}

function addsToTag(copied: Copied | CopiedPartial, status: number, opts: CreateResponseOptions): boolean {
  return opts.toTag !== undefined && !copied.toHasTag && status !== 100;
}

/** Head and body in one buffer (small ones share Node's pool, like any `Buffer.from`). */
function toWire(head: string, body: Uint8Array | undefined): Buffer {
  const bodyLength = body?.length ?? 0;
  const wire = Buffer.allocUnsafe(head.length + bodyLength);
  wire.write(head, 0, 'latin1');
  if (body !== undefined) wire.set(body, head.length);
  return wire;
}

function compose(
  copied: Copied | CopiedPartial,
  status: number,
  reason: string,
  opts: CreateResponseOptions,
): Buffer {
  const body = opts.body?.bytes;
  return toWire(composeHead(copied, status, reason, opts, body?.length ?? 0), body);
}

/** RFC 3261 token: what a header name or a tag must be for the direct build (else: parse). */
const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
/** Header fields the parsed model derives fields from: extras with these keys go the parse way. */
const DERIVED = new Set(['via', 'from', 'to', 'call-id', 'cseq', 'max-forwards', 'content-length']);
const trimmed = (v: string) => v.length === 0 || (v.trim() === v && !v.includes('\t'));

/**
 * The response as the parser would give it for `wire`, assembled from the request's parsed
 * parts instead of parsing `wire` again; `undefined` for anything unusual (then the caller
 * parses). `test/sip/build.test.ts` compares both ways over every fixture.
 */
function assemble(
  req: SipRequest,
  copied: Copied,
  status: number,
  reason: string,
  opts: CreateResponseOptions,
  wire: Buffer,
  bodyLength: number,
): SipResponse | undefined {
  if (reason.length === 0 || !trimmed(reason)) return undefined;
  const headers: HeaderField[] = [...copied.via, copied.from];
  let to: NameAddr = req.to;
  if (addsToTag(copied, status, opts)) {
    const tag = opts.toTag!;
    // The To field holds one name-addr whose text is the field value (else: parse).
    if (!TOKEN.test(tag) || req.to.raw !== copied.to.value) return undefined;
    const value = `${copied.to.value};tag=${tag}`;
    headers.push({ name: copied.to.name, key: 'to', value, raw: `${copied.to.name}: ${value}\r\n` });
    to = {
      displayName: req.to.displayName,
      uri: req.to.uri,
      angleBrackets: req.to.angleBrackets,
      params: [...req.to.params, { name: 'tag', value: tag }],
      tag,
      raw: value,
    };
  } else {
    headers.push(copied.to);
  }
  headers.push(copied.callId, copied.cseq);
  for (const [name, value] of opts.headers ?? []) {
    const key = headerKey(name);
    if (!TOKEN.test(name) || DERIVED.has(key) || !trimmed(value)) return undefined;
    headers.push({ name, key, value, raw: `${name}: ${value}\r\n` });
  }
  if (opts.body !== undefined) {
    const type = opts.body.contentType;
    if (!trimmed(type)) return undefined;
    headers.push({
      name: 'Content-Type',
      key: 'content-type',
      value: type,
      raw: `Content-Type: ${type}\r\n`,
    });
  }
  const length = String(bodyLength);
  headers.push({
    name: 'Content-Length',
    key: 'content-length',
    value: length,
    raw: `Content-Length: ${length}\r\n`,
  });
  // The parser's literal, field for field and in its order (one hidden class for both).
  return {
    kind: 'response',
    status,
    reason,
    version: 'SIP/2.0',
    startLine: `SIP/2.0 ${status} ${reason}`,
    headers,
    body: wire.subarray(wire.length - bodyLength),
    via: req.via,
    from: req.from,
    to,
    callId: req.callId,
    cseq: req.cseq,
    maxForwards: undefined,
    contentLength: bodyLength,
    wire,
  };
}

/**
 * RFC 3261 §8.2.6: a response copying Via (all, in order), From, To (+ tag), Call-ID and
 * CSeq, with Content-Length. The result is a parsed message (its `wire` is its bytes).
 * Throws only on caller bugs (control characters in arguments, status outside 100–699).
 *
 * @example createResponse(invite, 180, undefined, { toTag: random.tag() })
 */
export function createResponse(
  req: SipRequest,
  status: number,
  reason?: string,
  opts: CreateResponseOptions = {},
): SipResponse {
  if (!Number.isInteger(status) || status < 100 || status > 699) throw new Error('SIP build: bad status');
  // One pass over the fields: every Via in order, the first From / To / Call-ID / CSeq.
  const via: HeaderField[] = [];
  let from: HeaderField | undefined;
  let to: HeaderField | undefined;
  let callId: HeaderField | undefined;
  let cseq: HeaderField | undefined;
  for (const h of req.headers) {
    switch (h.key) {
      case 'via':
        via.push(h);
        break;
      case 'from':
        from ??= h;
        break;
      case 'to':
        to ??= h;
        break;
      case 'call-id':
        callId ??= h;
        break;
      case 'cseq':
        cseq ??= h;
        break;
    }
  }
  const lacks = [from, to, callId, cseq].indexOf(undefined);
  if (lacks >= 0) throw new Error(`SIP build: request lacks ${['from', 'to', 'call-id', 'cseq'][lacks]}`);
  const copied: Copied = {
    via,
    from: from!,
    to: to!,
    callId: callId!,
    cseq: cseq!,
    toHasTag: req.to.tag !== undefined,
  };
  const phrase = reason ?? reasonPhrase(status);
  const body = opts.body?.bytes;
  const bodyLength = body?.length ?? 0;
  const wire = toWire(composeHead(copied, status, phrase, opts, bodyLength), body);
  if (fastPaths.enabled) {
    const built = assemble(req, copied, status, phrase, opts, wire, bodyLength);
    if (built !== undefined) return built;
  }
  const parsed = parseMessage(wire);
  if (!parsed.ok || parsed.value.kind !== 'response') throw new Error('SIP build: response did not parse');
  return parsed.value;
}

/**
 * Wire bytes of the 400/413/416/505 answer to an unparsable request, built from `error.partial`
 * (Via, From, To, Call-ID and CSeq copied as they came, broken or not: the client matches on
 * Via and CSeq, §17.1.3); `undefined` when `!error.canRespond` (the caller drops and counts).
 * What the transport sends: the copy of a malformed To (RFC 4475 §3.1.2.6) would not parse
 * back, so the answer is bytes, not a parsed message.
 */
export function errorResponseBytes(
  error: SipParseError,
  opts: { readonly toTag?: string } = {},
): Buffer | undefined {
  const partial: PartialRequest | undefined = error.partial;
  if (!error.canRespond || partial === undefined) return undefined;
  try {
    return compose(
      partial,
      error.status,
      error.reason,
      opts.toTag === undefined ? {} : { toTag: opts.toTag },
    );
  } catch {
    return undefined;
  }
}

/**
 * `errorResponseBytes` as a parsed response, when those bytes parse (every copied field was
 * well-formed); else `undefined`.
 */
export function createErrorResponse(
  error: SipParseError,
  opts: { readonly toTag?: string } = {},
): SipResponse | undefined {
  const bytes = errorResponseBytes(error, opts);
  if (bytes === undefined) return undefined;
  const parsed = parseMessage(bytes);
  return parsed.ok && parsed.value.kind === 'response' ? parsed.value : undefined;
}
