/** name-addr / addr-spec with header params (RFC 3261 §20.10, §25.1): From, To, Contact, Route, Record-Route. */
import type { ContactList, NameAddr, Param, Uri } from './message.js';
import { fastPaths } from './fast-path.js';
import { nameAddrFast, nameAddrListFast } from './fast-name-addr.js';
import { findParam, parseParams } from './params.js';
import { isToken, isWsp, skipQuoted, splitTopLevel, trimWsp, unquote } from './scan.js';
import { parseUri } from './uri.js';

/** Parses one From/To/Contact/Route value. */
export function parseNameAddr(raw: string): NameAddr | undefined {
  if (fastPaths.enabled && raw.length > 0) {
    const fast = nameAddrFast(raw, 0, raw.length, false);
    if (fast !== undefined) return fast;
  }
  const s = trimWsp(raw);
  if (s.length === 0) return undefined;
  let displayName: string | undefined;
  let i = 0;
  if (s.charCodeAt(0) === 0x22) {
    const end = skipQuoted(s, 0);
    if (end < 0) return undefined;
    displayName = unquote(s.slice(0, end));
    i = end;
    while (i < s.length && isWsp(s.charCodeAt(i))) i++;
    if (s.charCodeAt(i) !== 0x3c) return undefined;
  } else {
    const lt = s.indexOf('<');
    if (lt >= 0) {
      const name = trimWsp(s.slice(0, lt));
      // Unquoted display-name: *(token LWS) (RFC 4475 §3.1.2.15: a comma needs quotes).
      if (name.length > 0) {
        for (const word of name.split(/[ \t]+/)) if (!isToken(word)) return undefined;
        displayName = name;
      }
      i = lt;
    }
  }
  if (s.charCodeAt(i) === 0x3c) return parseAngle(s, i, displayName, raw);
  return parseAddrSpec(s, raw);
}

function parseAngle(
  s: string,
  lt: number,
  displayName: string | undefined,
  raw: string,
): NameAddr | undefined {
  const gt = s.indexOf('>', lt);
  if (gt < 0) return undefined;
  // No LWS inside <…> (RFC 4475 §3.1.2.14); parseUri rejects whitespace.
  const uri = parseUri(s.slice(lt + 1, gt));
  if (uri === undefined) return undefined;
  const params = parseTrailingParams(s.slice(gt + 1));
  if (params === undefined) return undefined;
  return build(displayName, uri, true, params, raw);
}

/**
 * addr-spec form: the URI ends at the first `;`, and what follows are header params
 * (§20.10). A URI with `?` headers (or `,`) must use name-addr form (RFC 4475 §3.1.2.13).
 */
function parseAddrSpec(s: string, raw: string): NameAddr | undefined {
  const semi = s.indexOf(';');
  const uriText = trimWsp(semi < 0 ? s : s.slice(0, semi));
  if (uriText.includes('?') || uriText.includes(',')) return undefined;
  const uri = parseUri(uriText);
  if (uri === undefined) return undefined;
  const params = semi < 0 ? [] : parseParams(s.slice(semi + 1));
  if (params === undefined) return undefined;
  return build(undefined, uri, false, params, raw);
}

function parseTrailingParams(tail: string): Param[] | undefined {
  const t = trimWsp(tail);
  if (t.length === 0) return [];
  if (t.charCodeAt(0) !== 0x3b) return undefined;
  return parseParams(t.slice(1));
}

function build(
  displayName: string | undefined,
  uri: Uri,
  angleBrackets: boolean,
  params: Param[],
  raw: string,
): NameAddr {
  return { displayName, uri, angleBrackets, params, tag: findParam(params, 'tag')?.value, raw: trimWsp(raw) };
}

/** Comma-separated name-addr list (Contact, Route, Record-Route, Path). */
export function parseNameAddrList(value: string): NameAddr[] | undefined {
  if (fastPaths.enabled && value.length > 0) {
    const fast = nameAddrListFast(value);
    if (fast !== undefined) return fast;
  }
  const parts = splitTopLevel(value, 0x2c);
  if (parts === undefined) return undefined;
  const out: NameAddr[] = [];
  for (const part of parts) {
    const na = parseNameAddr(part);
    if (na === undefined) return undefined;
    out.push(na);
  }
  return out;
}

/** Contact values of one message (all fields). `*` must stand alone (RFC 3261 §10.2.2, §20.10). */
export function parseContactValues(values: readonly string[]): ContactList | undefined {
  if (values.length === 1 && values[0] === '*') return { star: true };
  const contacts: NameAddr[] = [];
  for (const v of values) {
    const list = parseNameAddrList(v);
    if (list === undefined) return undefined;
    contacts.push(...list);
  }
  return { star: false, contacts };
}
