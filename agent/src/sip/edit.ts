/**
 * Edits return a new message; the input is never mutated. Header fields an edit does not
 * touch keep their raw text, so serialization re-emits them byte for byte. Edits throw
 * (a bug in the caller, STYLE §3.7 kind 3) on values containing CR/LF (header injection)
 * or when the result would break a routing header.
 */
import { deriveRouting } from './derive.js';
import { fastPaths } from './fast-path.js';
import { headerKey, headerSpelling } from './compact-forms.js';
import type { HeaderField, Param, SipMessage, SipRequest, SipResponse, Via } from './message.js';
import { findParam, formatParams } from './params.js';
import { splitTopLevel } from './scan.js';
import { parseUri } from './uri.js';
import { parseViaList } from './via.js';

const MANDATORY = new Set(['from', 'to', 'call-id', 'cseq']);

/** Rejects CR, LF and every other CTL but HT (RFC 3261 §25.1 LWS admits only SP/HT; a CRLF would inject a header). */
function assertSafe(text: string): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f)
      throw new Error('SIP edit: value contains control characters');
  }
}

export function makeField(name: string, value: string): HeaderField {
  assertSafe(name);
  assertSafe(value);
  return { name, key: headerKey(name), value, raw: `${name}: ${value}\r\n` };
}

const ROUTING_KEYS = new Set(['from', 'to', 'call-id', 'cseq', 'max-forwards', 'content-length']);

/**
 * Rebuilds the model around new headers/body/start line. Only what the edit touched is
 * re-derived: Via edits re-parse the Via fields, other routing headers re-derive all,
 * anything else reuses the previous routing fields.
 */
function rebuild<M extends SipMessage>(
  msg: M,
  headers: readonly HeaderField[],
  touched: string | undefined,
  changes: { body?: Buffer; startLine?: string; requestUri?: SipRequest['requestUri'] } = {},
): M {
  if (touched === 'via') {
    const via: Via[] = [];
    for (const h of headers) {
      if (h.key !== 'via') continue;
      const list = parseViaList(h.value);
      if (list === undefined) throw new Error('SIP edit: result has an invalid Via header');
      for (const v of list) via.push(v);
    }
    return { ...msg, ...changes, via, headers, wire: undefined };
  }
  if (touched === undefined || !ROUTING_KEYS.has(touched)) {
    return { ...msg, ...changes, headers, wire: undefined };
  }
  const derived = deriveRouting(headers, false);
  if (derived.routing === undefined) {
    throw new Error(`SIP edit: result has an invalid ${derived.failure?.header ?? 'routing'} header`);
  }
  return { ...msg, ...derived.routing, ...changes, headers, wire: undefined };
}

function replaceFirstPart(field: HeaderField, oldPart: string, newPart: string): HeaderField {
  const colon = field.raw.indexOf(':');
  const at = field.raw.indexOf(oldPart, colon + 1);
  const vAt = field.value.indexOf(oldPart);
  if (at < 0 || vAt < 0) {
    const parts = splitTopLevel(field.value, 0x2c) ?? [field.value];
    parts[0] = newPart;
    return makeField(field.name, parts.join(', '));
  }
  return {
    ...field,
    value: field.value.slice(0, vAt) + newPart + field.value.slice(vAt + oldPart.length),
    raw: field.raw.slice(0, at) + newPart + field.raw.slice(at + oldPart.length),
  };
}

/**
 * Sets `received` and/or `rport` on the top Via (RFC 3261 §18.2.1, RFC 3581 §4); other
 * params keep their order. Only the top Via's text changes.
 */
export function setTopViaParams<M extends SipMessage>(
  msg: M,
  params: { readonly received?: string; readonly rport?: number },
): M {
  const top = msg.via[0];
  const index = firstIndex(msg.headers, 'via');
  const field = msg.headers[index];
  if (top === undefined || field === undefined) throw new Error('SIP edit: no Via');
  const list: Param[] = top.params.slice();
  let plain = true;
  if (params.received !== undefined) plain = putParam(list, 'received', params.received) && plain;
  if (params.rport !== undefined) plain = putParam(list, 'rport', String(params.rport)) && plain;
  const semi = top.raw.indexOf(';');
  const newTop = (semi < 0 ? top.raw : top.raw.slice(0, semi)).trimEnd() + formatParams(list);
  const headers = msg.headers.slice();
  headers[index] = replaceFirstPart(field, top.raw, newTop);
  const rport = params.rport;
  if (
    plain &&
    fastPaths.enabled &&
    (rport === undefined || (Number.isInteger(rport) && rport >= 0 && rport <= 65535))
  ) {
    // Plain values cannot change how the field splits on commas, so only the top via-parm is
    // new, and it is what parsing `newTop` gives: the same sent-by and params with the first
    // received/rport replaced (or appended). The other Via values stay as parsed.
    const via = msg.via.slice();
    via[0] = {
      protocolName: top.protocolName,
      protocolVersion: top.protocolVersion,
      transport: top.transport,
      host: top.host,
      port: top.port,
      branch: top.branch,
      received: params.received ?? top.received,
      rport: rport ?? top.rport,
      params: list,
      raw: newTop,
    };
    return withVia(msg, headers, via);
  }
  return rebuild(msg, headers, 'via');
}

/** Sets (or appends) a param on a copied list; true when the value is "plain" (see PLAIN). */
function putParam(list: Param[], name: string, value: string): boolean {
  assertSafe(value);
  const existing = findParam(list, name);
  const param = { name: existing === undefined ? name : existing.name, value };
  if (existing === undefined) list.push(param);
  else list[list.indexOf(existing)] = param;
  return isPlain(value);
}

/** Octets of IP literals and port numbers (RFC 3261 §25.1 IPv4address / IPv6reference / port). */
const PLAIN = new Uint8Array(256);
for (const ch of '0123456789abcdefABCDEF.:[]') PLAIN[ch.charCodeAt(0)] = 1;

function isPlain(value: string): boolean {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) if (PLAIN[value.charCodeAt(i)] !== 1) return false;
  return true;
}

function firstIndex(headers: readonly HeaderField[], key: string): number {
  for (let i = 0; i < headers.length; i++) if ((headers[i] as HeaderField).key === key) return i;
  return -1;
}

const NO_HEADERS: readonly HeaderField[] = Object.freeze([]);
const NO_BODY = Buffer.alloc(0);

/**
 * The message's routing fields only (start line, Via, From, To, Call-ID, CSeq), without its other
 * header fields, body and bytes: what a transaction or response context that has finished its
 * real work still reads (matching, CANCEL, logs) while it waits out its RFC 6026 timers. At
 * thousands of calls per second those 32 s of answered INVITEs are most of the heap, and the
 * garbage collector copies every byte they keep. Same literal as the parser's (one hidden class).
 */
export function shellOf<M extends SipMessage>(msg: M): M {
  return withVia(msg, NO_HEADERS, msg.via, NO_BODY);
}

/**
 * The message with new header fields and Via values, everything else unchanged. Built as the
 * parser's literal (same fields, same order) rather than by spread: a spread copy gets a hidden
 * class of its own, on which the first lazy header read (`accessors.ts`, a property added later)
 * costs ~2 µs instead of ~0.5 µs.
 */
function withVia<M extends SipMessage>(
  msg: M,
  headers: readonly HeaderField[],
  via: readonly Via[],
  body: Buffer = msg.body,
): M {
  const m: SipMessage = msg;
  if (m.kind === 'request') {
    const out: SipRequest = {
      kind: 'request',
      method: m.method,
      requestUri: m.requestUri,
      version: m.version,
      startLine: m.startLine,
      headers,
      body,
      via,
      from: m.from,
      to: m.to,
      callId: m.callId,
      cseq: m.cseq,
      maxForwards: m.maxForwards,
      contentLength: m.contentLength,
      wire: undefined,
    };
    return out as M;
  }
  const out: SipResponse = {
    kind: 'response',
    status: m.status,
    reason: m.reason,
    version: m.version,
    startLine: m.startLine,
    headers,
    body: m.body,
    via,
    from: m.from,
    to: m.to,
    callId: m.callId,
    cseq: m.cseq,
    maxForwards: m.maxForwards,
    contentLength: m.contentLength,
    wire: undefined,
  };
  return out as M;
}

/** Adds a Via on top (RFC 3261 §16.6 step 8), as its own field before the existing ones. */
export function prependVia<M extends SipMessage>(msg: M, value: string): M {
  return prependHeader(msg, 'Via', value);
}

/** Removes the top Via value (RFC 3261 §16.7 step 3); a multi-value line keeps its other values. */
export function removeTopVia<M extends SipMessage>(msg: M): M {
  return removeFirstHeaderValue(msg, 'via');
}

/** Inserts a field before the first field of the same name (or first in the header section). */
export function prependHeader<M extends SipMessage>(msg: M, name: string, value: string): M {
  const field = makeField(name, value);
  const at = firstIndex(msg.headers, field.key);
  const headers = insertAt(msg.headers, Math.max(at, 0), field);
  if (field.key === 'via' && fastPaths.enabled) {
    // The new field comes before every Via field: its values go on top of the parsed ones.
    const added = parseViaList(field.value);
    if (added !== undefined) return withVia(msg, headers, added.concat(msg.via));
  }
  return rebuild(msg, headers, field.key);
}

/** A copy of `list` with `item` inserted at `at`. */
function insertAt<T>(list: readonly T[], at: number, item: T): T[] {
  const out = list.slice(0, at);
  out.push(item);
  for (let i = at; i < list.length; i++) out.push(list[i] as T);
  return out;
}

/** Inserts a field after the last field of the same name (or last). */
export function appendHeader<M extends SipMessage>(msg: M, name: string, value: string): M {
  const field = makeField(name, value);
  let at = msg.headers.length;
  msg.headers.forEach((h, i) => {
    if (h.key === field.key) at = i + 1;
  });
  const headers = [...msg.headers];
  headers.splice(at, 0, field);
  return rebuild(msg, headers, field.key);
}

/** Replaces every field of that name by one field at the first one's position (or appends). */
export function setHeader<M extends SipMessage>(msg: M, name: string, value: string): M {
  const field = makeField(name, value);
  const at = msg.headers.findIndex((h) => h.key === field.key);
  if (at < 0) return appendHeader(msg, name, value);
  const headers = msg.headers.filter((h, i) => i === at || h.key !== field.key);
  headers[at] = field;
  return rebuild(msg, headers, field.key);
}

/** Removes every field of that name. From/To/Call-ID/CSeq cannot be removed. */
export function removeHeader<M extends SipMessage>(msg: M, name: string): M {
  const key = headerKey(name);
  if (MANDATORY.has(key)) throw new Error(`SIP edit: cannot remove ${headerSpelling(key)}`);
  return rebuild(
    msg,
    msg.headers.filter((h) => h.key !== key),
    key,
  );
}

/** Removes the first value of a list header (top Via, top Route §16.4); the field goes when empty. */
export function removeFirstHeaderValue<M extends SipMessage>(msg: M, name: string): M {
  const key = headerKey(name);
  const index = msg.headers.findIndex((h) => h.key === key);
  const field = msg.headers[index];
  if (field === undefined) return msg;
  const parts = splitTopLevel(field.value, 0x2c) ?? [field.value];
  const headers = [...msg.headers];
  if (parts.length <= 1) headers.splice(index, 1);
  else headers[index] = makeField(field.name, parts.slice(1).join(', '));
  // The first Via value is the top one (msg.via is the Via fields parsed in order).
  if (key === 'via' && fastPaths.enabled) return withVia(msg, headers, msg.via.slice(1));
  return rebuild(msg, headers, key);
}

/** Replaces the Request-URI (RFC 3261 §16.6 step 2). Throws on an unparsable URI. */
export function setRequestUri(req: SipRequest, uri: string): SipRequest {
  const requestUri = parseUri(uri);
  if (requestUri === undefined) throw new Error('SIP edit: invalid Request-URI');
  return rebuild(req, req.headers, undefined, {
    requestUri,
    startLine: `${req.method} ${uri} ${req.version}`,
  });
}

/**
 * Replaces the body and sets Content-Length (and Content-Type when given; an empty body
 * without a type drops Content-Type).
 */
export function setBody<M extends SipMessage>(msg: M, body: Uint8Array, contentType?: string): M {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let next: M = setHeader(msg, 'Content-Length', String(bytes.length));
  if (contentType !== undefined) next = setHeader(next, 'Content-Type', contentType);
  else if (bytes.length === 0) next = removeHeader(next, 'content-type');
  return rebuild(next, next.headers, undefined, { body: bytes });
}

/**
 * Replaces every field of a header by `values`, each as its own field at the first old field's
 * position (at the top when there was none); no values removes the header. The proxy's one tool
 * for rewriting a whole list (Via stack, Record-Route, Contact) in a single rebuild.
 */
export function replaceHeaderValues<M extends SipMessage>(
  msg: M,
  name: string,
  values: readonly string[],
): M {
  const key = headerKey(name);
  if (MANDATORY.has(key)) throw new Error(`SIP edit: use setHeader for ${headerSpelling(key)}`);
  const fields = values.map((v) => makeField(name, v));
  const headers: HeaderField[] = [];
  let placed = false;
  for (const h of msg.headers) {
    if (h.key !== key) {
      headers.push(h);
      continue;
    }
    if (!placed) {
      for (const f of fields) headers.push(f);
      placed = true;
    }
  }
  if (!placed) headers.unshift(...fields);
  return rebuild(msg, headers, key);
}

/** Several header edits applied in one pass (see `editHeaders`). */
export interface HeaderPlan {
  /** Every field of each named header replaced by one field per value ([] removes the header). */
  readonly set?: ReadonlyArray<{ readonly name: string; readonly values: readonly string[] }>;
  /** Fields inserted before the first field of their name (at the top when there is none). */
  readonly prepend?: ReadonlyArray<readonly [name: string, value: string]>;
  readonly maxForwards?: number;
  readonly requestUri?: string;
}

/**
 * Applies a whole plan with one copy of the header list and one re-derivation of what it
 * touched (Via re-parsed only if a Via changed, the other routing headers only if one of them
 * changed): a proxy rewrites Via, Record-Route, Contact, Max-Forwards and more on every message,
 * and one rebuild per edit cost more than the rest of forwarding. Same semantics as the single
 * edits (`replaceHeaderValues`, `prependHeader`, `setHeader` of Max-Forwards, `setRequestUri`).
 */
export function editHeaders<M extends SipMessage>(msg: M, plan: HeaderPlan): M {
  const sets = new Map<string, HeaderField[]>();
  for (const s of plan.set ?? []) {
    const key = headerKey(s.name);
    if (MANDATORY.has(key) && s.values.length !== 1) throw new Error(`SIP edit: ${s.name} needs one value`);
    sets.set(
      key,
      s.values.map((v) => makeField(s.name, v)),
    );
  }
  const prepends = new Map<string, HeaderField[]>();
  for (const [name, value] of plan.prepend ?? []) {
    const f = makeField(name, value);
    const list = prepends.get(f.key);
    if (list === undefined) prepends.set(f.key, [f]);
    else list.push(f);
  }
  const mf = plan.maxForwards;
  if (mf !== undefined && (!Number.isInteger(mf) || mf < 0 || mf > 255))
    throw new Error('SIP edit: bad Max-Forwards');
  const headers: HeaderField[] = [];
  const done = new Set<string>();
  let mfDone = mf === undefined;
  let lastVia = -1;
  for (const h of msg.headers) {
    const pre = prepends.get(h.key);
    if (pre !== undefined && !done.has(`+${h.key}`)) {
      done.add(`+${h.key}`);
      for (const f of pre) headers.push(f);
    }
    const repl = sets.get(h.key);
    if (repl !== undefined) {
      if (!done.has(h.key)) {
        done.add(h.key);
        for (const f of repl) headers.push(f);
      }
    } else if (h.key === 'max-forwards' && mf !== undefined) {
      if (!mfDone) headers.push(makeField('Max-Forwards', String(mf)));
      mfDone = true;
    } else {
      headers.push(h);
    }
    if (h.key === 'via') lastVia = headers.length - 1;
  }
  const top: HeaderField[] = [];
  for (const [key, pre] of prepends) if (!done.has(`+${key}`)) top.push(...pre);
  for (const [key, repl] of sets) if (!done.has(key)) (key === 'via' ? top : headers).push(...repl);
  if (!mfDone) headers.splice(lastVia + 1, 0, makeField('Max-Forwards', String(mf)));
  const all = top.length === 0 ? headers : top.concat(headers);

  const touched = new Set<string>([...sets.keys(), ...prepends.keys()]);
  const out: { -readonly [K in keyof SipRequest]?: unknown } = { ...msg, headers: all, wire: undefined };
  let routingTouched = false;
  for (const k of touched)
    if (k !== 'via' && k !== 'max-forwards' && ROUTING_KEYS.has(k)) routingTouched = true;
  if (routingTouched) {
    const derived = deriveRouting(all, false);
    if (derived.routing === undefined)
      throw new Error(`SIP edit: result has an invalid ${derived.failure?.header ?? 'routing'} header`);
    Object.assign(out, derived.routing);
  } else if (touched.has('via')) {
    const via: Via[] = [];
    for (const h of all) {
      if (h.key !== 'via') continue;
      const list = parseViaList(h.value);
      if (list === undefined) throw new Error('SIP edit: result has an invalid Via header');
      for (const v of list) via.push(v);
    }
    out.via = via;
  }
  if (mf !== undefined) out.maxForwards = mf;
  if (plan.requestUri !== undefined && msg.kind === 'request') {
    const requestUri = parseUri(plan.requestUri);
    if (requestUri === undefined) throw new Error('SIP edit: invalid Request-URI');
    out.requestUri = requestUri;
    out.startLine = `${(msg as SipRequest).method} ${plan.requestUri} ${msg.version}`;
  }
  return out as unknown as M;
}
