/**
 * Fast path of name-addr with header params (RFC 3261 §20.10, §25.1):
 * `[ display-name ] LAQUOT addr-spec RAQUOT *( SEMI generic-param )`, display-name a
 * quoted-string or `*(token LWS)`, nothing after `>` but params. addr-spec form (no `<>`),
 * LWS before `;`/`,` and anything unusual return `undefined`, and `parseNameAddr`
 * (name-addr.ts) takes the general path.
 */
import type { NameAddr, Param } from './message.js';
import { nameIs, paramsEnd, scanParams } from './params.js';
import { skipQuoted, TOKEN_CHARS, unquote } from './scan.js';
import { parseSipUriFastAt } from './fast-uri.js';
import { parseUri } from './uri.js';

/** Where the last `nameAddrFast` stopped: the end or a `,`. */
export let nameAddrEnd = 0;

const NO_PARAMS: readonly Param[] = [];

/** One name-addr at `s[start]`, ending at `n` or at a top-level `,` (when `list`). */
export function nameAddrFast(s: string, start: number, n: number, list: boolean): NameAddr | undefined {
  let i = start;
  let displayName: string | undefined;
  let c = s.charCodeAt(i);
  if (c === 0x20 || c === 0x09) return undefined; // untrimmed input: the general path trims
  if (c === 0x22) {
    const q = skipQuoted(s, i);
    if (q < 0 || q > n) return undefined;
    // The quoted-string's content: one slice unless it holds quoted-pairs.
    let pairs = false;
    for (let j = i + 1; j < q - 1 && !pairs; j++) pairs = s.charCodeAt(j) === 0x5c;
    displayName = pairs ? unquote(s.slice(i, q)) : s.slice(i + 1, q - 1);
    i = q;
    while (i < n && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09)) i++;
  } else if (c !== 0x3c) {
    // *(token LWS): words of token chars separated by SP/HT, up to the "<".
    let lastTokenEnd = -1;
    while (i < n) {
      c = s.charCodeAt(i);
      if (TOKEN_CHARS[c] === 1) {
        i++;
        lastTokenEnd = i;
      } else if (c === 0x20 || c === 0x09) {
        i++;
      } else {
        break;
      }
    }
    if (lastTokenEnd < 0) return undefined;
    displayName = s.slice(start, lastTokenEnd);
  }
  if (i >= n || s.charCodeAt(i) !== 0x3c) return undefined;
  const gt = s.indexOf('>', i + 1);
  if (gt < 0 || gt >= n) return undefined;
  const uri = parseSipUriFastAt(s, i + 1, gt) ?? parseUri(s.slice(i + 1, gt));
  if (uri === undefined) return undefined;
  i = gt + 1;
  let params = NO_PARAMS;
  if (i < n && s.charCodeAt(i) === 0x3b) {
    const parsed = scanParams(s, i, n);
    if (parsed === undefined) return undefined;
    params = parsed;
    i = paramsEnd;
  }
  if (i < n && !(list && s.charCodeAt(i) === 0x2c)) return undefined;
  let tag: string | undefined;
  for (let k = 0; k < params.length; k++) {
    const p = params[k] as Param;
    if (p.name === 'tag' || nameIs(p.name, 0, p.name.length, 'tag')) {
      tag = p.value;
      break;
    }
  }
  nameAddrEnd = i;
  return {
    displayName,
    uri,
    angleBrackets: true,
    params: params === NO_PARAMS ? [] : params,
    tag,
    raw: start === 0 && i === s.length ? s : s.slice(start, i),
  };
}

/** Comma-separated name-addrs (Contact, Route, Record-Route, Path) on the fast path, else undefined. */
export function nameAddrListFast(value: string): NameAddr[] | undefined {
  const n = value.length;
  const out: NameAddr[] = [];
  let i = 0;
  for (;;) {
    const na = nameAddrFast(value, i, n, true);
    if (na === undefined) return undefined;
    out.push(na);
    i = nameAddrEnd;
    if (i === n) return out;
    i++; // the ","
    while (i < n && (value.charCodeAt(i) === 0x20 || value.charCodeAt(i) === 0x09)) i++;
    if (i === n) return undefined;
  }
}
