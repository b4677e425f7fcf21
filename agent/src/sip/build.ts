/** Responses built from requests (RFC 3261 §8.2.6) and from parse errors. */
import type { PartialRequest, SipParseError } from './errors.js';
import type { SipRequest, SipResponse } from './message.js';
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

/** What a response copies from its request (§8.2.6.2); the partial of a parse error has the same. */
type Copied = Omit<PartialRequest, 'method'>;

function compose(copied: Copied, status: number, reason: string, opts: CreateResponseOptions): Buffer {
  let head = `SIP/2.0 ${status} ${safe(reason, 'reason')}\r\n`;
  for (const v of copied.via) head += v.raw;
  head += copied.from.raw;
  // §8.2.6.2: add a To tag unless present already or the response is 100 (§8.2.6.1).
  head +=
    opts.toTag !== undefined && !copied.toHasTag && status !== 100
      ? `${copied.to.name}: ${copied.to.value};tag=${safe(opts.toTag, 'tag')}\r\n`
      : copied.to.raw;
  head += copied.callId.raw + copied.cseq.raw;
  for (const [name, value] of opts.headers ?? [])
    head += `${safe(name, 'name')}: ${safe(value, 'value')}\r\n`;
  const body = opts.body === undefined ? Buffer.alloc(0) : Buffer.from(opts.body.bytes);
  if (opts.body !== undefined) head += `Content-Type: ${safe(opts.body.contentType, 'type')}\r\n`;
  head += `Content-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
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
  const pick = (key: string) => {
    const f = req.headers.find((h) => h.key === key);
    if (f === undefined) throw new Error(`SIP build: request lacks ${key}`);
    return f;
  };
  const copied: Copied = {
    via: req.headers.filter((h) => h.key === 'via'),
    from: pick('from'),
    to: pick('to'),
    callId: pick('call-id'),
    cseq: pick('cseq'),
    toHasTag: req.to.tag !== undefined,
  };
  const parsed = parseMessage(compose(copied, status, reason ?? reasonPhrase(status), opts));
  if (!parsed.ok || parsed.value.kind !== 'response') throw new Error('SIP build: response did not parse');
  return parsed.value;
}

/**
 * The 400/413/416/505 answer to an unparsable request, built from `error.partial`;
 * `undefined` when `!error.canRespond` (the caller drops and counts).
 */
export function createErrorResponse(
  error: SipParseError,
  opts: { readonly toTag?: string } = {},
): SipResponse | undefined {
  const partial: PartialRequest | undefined = error.partial;
  if (!error.canRespond || partial === undefined) return undefined;
  try {
    const bytes = compose(
      partial,
      error.status,
      error.reason,
      opts.toTag === undefined ? {} : { toTag: opts.toTag },
    );
    const parsed = parseMessage(bytes);
    return parsed.ok && parsed.value.kind === 'response' ? parsed.value : undefined;
  } catch {
    return undefined;
  }
}
