/**
 * Read access to a message. Routing headers are eager fields on the model; the rest are
 * parsed here on first use and cached per message object (Kamailio-style lazy parsing).
 */
import { err, ok, type Result } from '@sipwall/shared';
import { headerKey, isListHeader } from './compact-forms.js';
import type { ContactList, NameAddr, SipMessage, Via } from './message.js';
import { parseContactValues, parseNameAddrList } from './name-addr.js';
import { parseDeltaSeconds } from './scalars.js';
import { splitTopLevel } from './scan.js';

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
 */
const CACHE = Symbol('sip.lazy');

function cached<T>(msg: SipMessage, key: string, compute: () => T): T {
  const holder = msg as unknown as { [CACHE]?: Map<string, unknown> };
  let entries = holder[CACHE];
  if (entries === undefined) {
    entries = new Map();
    Object.defineProperty(msg, CACHE, { value: entries, enumerable: false });
  }
  if (entries.has(key)) return entries.get(key) as T;
  const value = compute();
  entries.set(key, value);
  return value;
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
  for (const h of msg.headers) {
    if (h.key !== key) continue;
    const parts = split ? splitTopLevel(h.value, 0x2c) : undefined;
    if (parts === undefined) out.push(h.value);
    else for (const p of parts) if (p.length > 0) out.push(p);
  }
  return out;
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
  return cached(msg, 'contact', () => {
    const parsed = parseContactValues(fieldValues(msg, 'contact'));
    return parsed === undefined ? bad('contact') : ok(parsed);
  });
}

function nameAddrs(msg: SipMessage, key: string): Result<readonly NameAddr[], HeaderParseError> {
  return cached(msg, key, () => {
    const out: NameAddr[] = [];
    for (const v of fieldValues(msg, key)) {
      const list = parseNameAddrList(v);
      if (list === undefined) return bad(key);
      out.push(...list);
    }
    return ok(out);
  });
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
  return cached(msg, 'expires', () => {
    const v = getHeader(msg, 'expires');
    if (v === undefined) return ok(undefined);
    const n = parseDeltaSeconds(v);
    return n === undefined ? bad('expires') : ok(n);
  });
}
