/**
 * Eager part of parsing: finds and checks the routing headers every layer needs
 * (Via, From, To, Call-ID, CSeq, Max-Forwards, Content-Length; RFC 3261 §8.1.1, §8.2.2).
 */
import type { PartialRequest, SipParseErrorCode } from './errors.js';
import type { CSeq, HeaderField, NameAddr, Via } from './message.js';
import { nameAddrFast } from './fast-name-addr.js';
import { parseViaListFastInto } from './fast-via.js';
import { valueBounds } from './header-bytes.js';
import { parseNameAddr } from './name-addr.js';
import { isValidCallId, parseContentLength, parseCSeq, parseMaxForwards } from './scalars.js';
import { parseViaList } from './via.js';

export interface Routing {
  readonly via: Via[];
  readonly from: NameAddr;
  readonly to: NameAddr;
  readonly callId: string;
  readonly cseq: CSeq;
  readonly maxForwards: number | undefined;
  readonly contentLength: number | undefined;
}

export type RespondFields = Omit<PartialRequest, 'method'>;

export interface Derived {
  /** Present when every routing header is valid. */
  readonly routing: Routing | undefined;
  /** First failure, when `routing` is undefined. */
  readonly failure: { readonly code: SipParseErrorCode; readonly header: string } | undefined;
  /** Set when Via/From/To/Call-ID/CSeq are usable for an error response. */
  readonly respond: RespondFields | undefined;
}

/**
 * `requireVia` is false for edited messages (removeTopVia may leave none). `text`, when given,
 * is the header section the byte scan (`scanHeaderBytes`) just split into `headers`: field k's
 * value is then read in place at `valueBounds[2k, 2k + 1]`, without its substring.
 */
export function deriveRouting(headers: readonly HeaderField[], requireVia: boolean, text?: string): Derived {
  const viaFields: HeaderField[] = [];
  let from: HeaderField | undefined;
  let to: HeaderField | undefined;
  let callId: HeaderField | undefined;
  let cseq: HeaderField | undefined;
  let maxF: HeaderField | undefined;
  let cl: HeaderField | undefined;
  let duplicate: string | undefined;
  const via: Via[] = [];
  let viaOk = true;
  let fromAt = -1;
  let toAt = -1;
  for (let k = 0; k < headers.length; k++) {
    const h = headers[k] as HeaderField;
    switch (h.key) {
      case 'via':
        viaFields.push(h);
        // Parsed here, in order; after the first bad Via the rest are not parsed (as before).
        if (
          viaOk &&
          (text === undefined ||
            !parseViaListFastInto(via, text, valueBounds[2 * k] as number, valueBounds[2 * k + 1] as number))
        ) {
          const list = parseViaList(h.value);
          if (list === undefined) viaOk = false;
          else for (let j = 0; j < list.length; j++) via.push(list[j] as Via);
        }
        break;
      case 'from':
        if (from === undefined) {
          from = h;
          fromAt = k;
        } else duplicate ??= 'from';
        break;
      case 'to':
        if (to === undefined) {
          to = h;
          toAt = k;
        } else duplicate ??= 'to';
        break;
      case 'call-id':
        if (callId === undefined) callId = h;
        else duplicate ??= 'call-id';
        break;
      case 'cseq':
        if (cseq === undefined) cseq = h;
        else duplicate ??= 'cseq';
        break;
      case 'max-forwards':
        if (maxF === undefined) maxF = h;
        else duplicate ??= 'max-forwards';
        break;
      case 'content-length':
        if (cl === undefined) cl = h;
        else duplicate ??= 'content-length';
        break;
    }
  }

  if (viaFields.length === 0 && requireVia) viaOk = false;
  const fromNa = from === undefined ? undefined : nameAddrOf(from, fromAt, text);
  const toNa = to === undefined ? undefined : nameAddrOf(to, toAt, text);
  const callIdOk = callId !== undefined && isValidCallId(callId.value);
  const cseqV = cseq === undefined ? undefined : parseCSeq(cseq.value);
  // RFC 4475 §3.1.2, §3.3.1, §3.3.8: a request is answered (400) whenever the client can match
  // the answer: a Via to copy and a CSeq (§17.1.3); the rest is copied as it came, broken or not.
  const respond =
    viaFields.length > 0 && cseq !== undefined
      ? {
          via: viaFields,
          from,
          to,
          callId,
          cseq,
          toHasTag: toNa !== undefined ? toNa.tag !== undefined : to !== undefined && TO_TAG.test(to.value),
        }
      : undefined;

  if (viaFields.length === 0 && requireVia) return fail('missing-header', 'via', respond);
  if (!viaOk) return fail('bad-via', 'via', respond);
  if (from === undefined) return fail('missing-header', 'from', respond);
  if (to === undefined) return fail('missing-header', 'to', respond);
  if (callId === undefined) return fail('missing-header', 'call-id', respond);
  if (cseq === undefined) return fail('missing-header', 'cseq', respond);
  if (duplicate !== undefined) return fail('duplicate-header', duplicate, respond);
  if (fromNa === undefined) return fail('bad-from', 'from', respond);
  if (toNa === undefined) return fail('bad-to', 'to', respond);
  if (!callIdOk) return fail('bad-call-id', 'call-id', respond);
  if (cseqV === undefined) return fail('bad-cseq', 'cseq', respond);
  const maxForwards = maxF === undefined ? undefined : parseMaxForwards(maxF.value);
  if (maxF !== undefined && maxForwards === undefined)
    return fail('bad-max-forwards', 'max-forwards', respond);
  const contentLength = cl === undefined ? undefined : parseContentLength(cl.value);
  if (cl !== undefined && contentLength === undefined)
    return fail('bad-content-length', 'content-length', respond);
  return {
    routing: { via, from: fromNa, to: toNa, callId: callId.value, cseq: cseqV, maxForwards, contentLength },
    failure: undefined,
    respond,
  };
}

/** A tag parameter in a To that did not parse (only decides whether an error response adds one). */
const TO_TAG = /;[ \t]*tag[ \t]*=/i;

/** parseNameAddr of field `k`, read in place in `text` when the byte scan gave its bounds. */
function nameAddrOf(h: HeaderField, k: number, text: string | undefined): NameAddr | undefined {
  if (text !== undefined) {
    const a = valueBounds[2 * k] as number;
    const b = valueBounds[2 * k + 1] as number;
    if (a < b) {
      const fast = nameAddrFast(text, a, b, false);
      if (fast !== undefined) return fast;
    }
  }
  return parseNameAddr(h.value);
}

function fail(code: SipParseErrorCode, header: string, respond: RespondFields | undefined): Derived {
  return { routing: undefined, failure: { code, header }, respond };
}
