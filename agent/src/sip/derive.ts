/**
 * Eager part of parsing: finds and checks the routing headers every layer needs
 * (Via, From, To, Call-ID, CSeq, Max-Forwards, Content-Length; RFC 3261 §8.1.1, §8.2.2).
 */
import type { PartialRequest, SipParseErrorCode } from './errors.js';
import type { CSeq, HeaderField, NameAddr, Via } from './message.js';
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

/** `requireVia` is false for edited messages (removeTopVia may leave none). */
export function deriveRouting(headers: readonly HeaderField[], requireVia: boolean): Derived {
  const viaFields: HeaderField[] = [];
  let from: HeaderField | undefined;
  let to: HeaderField | undefined;
  let callId: HeaderField | undefined;
  let cseq: HeaderField | undefined;
  let maxF: HeaderField | undefined;
  let cl: HeaderField | undefined;
  let duplicate: string | undefined;
  for (const h of headers) {
    switch (h.key) {
      case 'via':
        viaFields.push(h);
        break;
      case 'from':
        if (from === undefined) from = h;
        else duplicate ??= 'from';
        break;
      case 'to':
        if (to === undefined) to = h;
        else duplicate ??= 'to';
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

  const via: Via[] = [];
  let viaOk = viaFields.length > 0 || !requireVia;
  for (const f of viaFields) {
    const list = parseViaList(f.value);
    if (list === undefined) {
      viaOk = false;
      break;
    }
    for (const v of list) via.push(v);
  }
  const fromNa = from === undefined ? undefined : parseNameAddr(from.value);
  const toNa = to === undefined ? undefined : parseNameAddr(to.value);
  const callIdOk = callId !== undefined && isValidCallId(callId.value);
  const cseqV = cseq === undefined ? undefined : parseCSeq(cseq.value);
  const keyDup =
    duplicate === 'from' || duplicate === 'to' || duplicate === 'call-id' || duplicate === 'cseq';

  const respond =
    viaOk && fromNa && toNa && callIdOk && cseqV && !keyDup && from && to && callId && cseq
      ? { via: viaFields, from, to, callId, cseq, toHasTag: toNa.tag !== undefined }
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

function fail(code: SipParseErrorCode, header: string, respond: RespondFields | undefined): Derived {
  return { routing: undefined, failure: { code, header }, respond };
}
