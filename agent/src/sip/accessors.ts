/**
 * Read access to a message. Routing headers are eager fields on the model; the rest are
 * parsed here on first use and cached per message object (Kamailio-style lazy parsing).
 */
import { err, ok, type Result } from '@sipwall/shared';
import { headerKey, isListHeader } from './compact-forms.js';
import type { ContactList, HeaderField, NameAddr, SipMessage, Via } from './message.js';
import { parseContactValues, parseNameAddrList } from './name-addr.js';
import { parseDeltaSeconds } from './scalars.js';
import { isWsp, skipQuoted } from './scan.js';

export { findParam, getParam } from './params.js';

/** A lazily parsed header failed its grammar. */
export interface HeaderParseError {
  readonly code: 'bad-header';
  /** Canonical header name (lower-case long form). */
  readonly header: string;
  readonly reason: string;
}

/**
 * Per-message cache in a non-enumerable symbol property (invisible to equality and JSON).
 * Not a WeakMap: ephemeron entries for millions of short-lived messages cost the GC dearly.
 * One fixed-shape object per message (no Map, no closures) keeps the first read cheap.
 */
const CACHE = Symbol('sip.lazy');

class Lazy {
  contact: Result<ContactList, HeaderParseError> | undefined = undefined;
  route: Result<readonly NameAddr[], HeaderParseError> | undefined = undefined;
  'record-route': Result<readonly NameAddr[], HeaderParseError> | undefined = undefined;
  path: Result<readonly NameAddr[], HeaderParseError> | undefined = undefined;
  expires: Result<number | undefined, HeaderParseError> | undefined = undefined;
}

function lazy(msg: SipMessage): Lazy {
  const holder = msg as unknown as { [CACHE]?: Lazy };
  let entries = holder[CACHE];
  if (entries === undefined) {
    entries = new Lazy();
    Object.defineProperty(msg, CACHE, { value: entries, enumerable: false });
  }
  return entries;
}

/** The top (first) Via, i.e. the previous hop (RFC 3261 §18.2.2). */
export function topVia(msg: SipMessage): Via | undefined {
  return msg.via[0];
}

/** Value of the first field named `name` (case-insensitive, compact forms accepted), unsplit. */
export function getHeader(msg: SipMessage, name: string): string | undefined {
  const key = headerKey(name);
  for (const h of msg.headers) if (h.key === key) return h.value;
  return undefined;
}

/**
 * Every value of a header in order. List headers (Via, Contact, Route, Allow, …, §7.3.1)
 * are split on top-level commas; others (WWW-Authenticate, Authorization, Date, unknown
 * headers) give one value per field.
 */
export function getHeaders(msg: SipMessage, name: string): readonly string[] {
  const key = headerKey(name);
  const split = isListHeader(key);
  const out: string[] = [];
  const headers = msg.headers;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i] as HeaderField;
    if (h.key !== key) continue;
    if (!split || !pushListValues(out, h.value)) out.push(h.value);
  }
  return out;
}

/**
 * Pushes the non-empty, SP/HT-trimmed elements of `#element` (§7.3.1: split on commas
 * outside quoted-strings and `<…>`). False, with nothing pushed, on an unterminated quote or `<`.
 */
function pushListValues(out: string[], s: string): boolean {
  const mark = out.length;
  let from = 0;
  const n = s.length;
  for (let i = 0; i <= n; i++) {
    const c = i === n ? 0x2c : s.charCodeAt(i);
    if (c === 0x22) {
      const end = skipQuoted(s, i);
      if (end < 0) return reset(out, mark);
      i = end - 1;
    } else if (c === 0x3c) {
      const end = s.indexOf('>', i);
      if (end < 0) return reset(out, mark);
      i = end;
    } else if (c === 0x2c) {
      let a = from;
      let b = i;
      while (a < b && isWsp(s.charCodeAt(a))) a++;
      while (b > a && isWsp(s.charCodeAt(b - 1))) b--;
      if (b > a) out.push(a === 0 && b === n ? s : s.slice(a, b));
      from = i + 1;
    }
  }
  return true;
}

function reset(out: string[], mark: number): false {
  out.length = mark;
  return false;
}

export function hasHeader(msg: SipMessage, name: string): boolean {
  return getHeader(msg, name) !== undefined;
}

function fieldValues(msg: SipMessage, key: string): string[] {
  const out: string[] = [];
  for (const h of msg.headers) if (h.key === key) out.push(h.value);
  return out;
}

function bad(header: string): { ok: false; error: HeaderParseError } {
  return err({ code: 'bad-header', header, reason: `Malformed ${header}` });
}

/** Contact list, or `*`; absent → empty list. */
export function getContacts(msg: SipMessage): Result<ContactList, HeaderParseError> {
  const cache = lazy(msg);
  if (cache.contact === undefined) {
    const parsed = parseContactValues(fieldValues(msg, 'contact'));
    cache.contact = parsed === undefined ? bad('contact') : ok(parsed);
  }
  return cache.contact;
}

function nameAddrs(
  msg: SipMessage,
  key: 'route' | 'record-route' | 'path',
): Result<readonly NameAddr[], HeaderParseError> {
  const cache = lazy(msg);
  let result = cache[key];
  if (result === undefined) {
    result = parseNameAddrFields(msg, key);
    cache[key] = result;
  }
  return result;
}

function parseNameAddrFields(msg: SipMessage, key: string): Result<readonly NameAddr[], HeaderParseError> {
  const out: NameAddr[] = [];
  const headers = msg.headers;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i] as HeaderField;
    if (h.key !== key) continue;
    const list = parseNameAddrList(h.value);
    if (list === undefined) return bad(key);
    for (let k = 0; k < list.length; k++) out.push(list[k] as NameAddr);
  }
  return ok(out);
}

/** Route values top-down (RFC 3261 §20.34). */
export function getRoutes(msg: SipMessage): Result<readonly NameAddr[], HeaderParseError> {
  return nameAddrs(msg, 'route');
}

/** Record-Route values top-down (RFC 3261 §20.30). */
export function getRecordRoutes(msg: SipMessage): Result<readonly NameAddr[], HeaderParseError> {
  return nameAddrs(msg, 'record-route');
}

/** Path values (RFC 3327). */
export function getPaths(msg: SipMessage): Result<readonly NameAddr[], HeaderParseError> {
  return nameAddrs(msg, 'path');
}

/** Expires header in seconds (RFC 3261 §20.19); `undefined` when absent. */
export function getExpires(msg: SipMessage): Result<number | undefined, HeaderParseError> {
  const cache = lazy(msg);
  if (cache.expires === undefined) {
    const v = getHeader(msg, 'expires');
    const n = v === undefined ? undefined : parseDeltaSeconds(v);
    cache.expires = v === undefined ? ok(undefined) : n === undefined ? bad('expires') : ok(n);
  }
  return cache.expires;
}
