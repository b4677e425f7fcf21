import type { Param } from './message.js';
import { hasWspOrCtl, isToken, skipQuoted, splitTopLevel, TOKEN_CHARS, trimWsp } from './scan.js';

/**
 * Parses `;a=b;c` (the text after the first `;`, RFC 3261 §25.1 generic-param).
 * LWS is allowed around `;` and `=`. Empty parameters (`;;`) are invalid (RFC 4475 §3.1.2.1).
 */
export function parseParams(text: string): Param[] | undefined {
  const parts = splitTopLevel(text, 0x3b);
  if (parts === undefined) return undefined;
  const params: Param[] = [];
  for (const part of parts) {
    const param = parseParam(part);
    if (param === undefined) return undefined;
    params.push(param);
  }
  return params;
}

function parseParam(part: string): Param | undefined {
  const eq = part.indexOf('=');
  if (eq < 0) return isToken(part) ? { name: part, value: undefined } : undefined;
  const name = trimWsp(part.slice(0, eq));
  const value = trimWsp(part.slice(eq + 1));
  if (!isToken(name) || value.length === 0) return undefined;
  if (value.charCodeAt(0) === 0x22) {
    if (skipQuoted(value, 0) !== value.length) return undefined;
  } else if (hasWspOrCtl(value) || /[",<>]/.test(value)) {
    return undefined;
  }
  return { name, value };
}

/** Value of the first parameter named `name` (case-insensitive); `''`-less flags give undefined. */
export function getParam(params: readonly Param[], name: string): string | undefined {
  return findParam(params, name)?.value;
}

/** The first parameter named `name` (case-insensitive). */
export function findParam(params: readonly Param[], name: string): Param | undefined {
  const lower = name.toLowerCase();
  for (const p of params) {
    if (p.name === lower || (p.name.length === lower.length && p.name.toLowerCase() === lower)) return p;
  }
  return undefined;
}

export function formatParams(params: readonly Param[]): string {
  let s = '';
  for (const p of params) s += p.value === undefined ? `;${p.name}` : `;${p.name}=${p.value}`;
  return s;
}

/** Octets that end an unquoted gen-value in the fast scan: CTL, SP, DEL, `"` `,` `;` `<` `>` `?`. */
const VALUE_STOP = new Uint8Array(256);
for (let c = 0; c <= 0x20; c++) VALUE_STOP[c] = 1;
for (const ch of '",;<>?') VALUE_STOP[ch.charCodeAt(0)] = 1;
VALUE_STOP[0x7f] = 1;

/** Where the last `scanParams` stopped (module scratch instead of a result object per call). */
export let paramsEnd = 0;

/**
 * Fast path for `*( SEMI generic-param )` with no LWS, starting at `s[i]` (RFC 3261 §25.1:
 * generic-param = token [ EQUAL gen-value ], gen-value = token / host / quoted-string; also
 * uri-parameter, whose values are a subset). Stops at the first octet that is not `;`
 * after a param — the caller checks it is `end` (or `,` in a list) and otherwise, like on
 * `undefined` (empty param, LWS, `<`…), uses the general parser, which then decides.
 */
export function scanParams(s: string, i: number, end: number): Param[] | undefined {
  const out: Param[] = [];
  while (i < end && s.charCodeAt(i) === 0x3b) {
    const ns = ++i;
    while (i < end && TOKEN_CHARS[s.charCodeAt(i)] === 1) i++;
    if (i === ns) return undefined;
    const name = paramName(s, ns, i);
    let value: string | undefined;
    if (i < end && s.charCodeAt(i) === 0x3d) {
      const vs = ++i;
      if (i < end && s.charCodeAt(i) === 0x22) {
        i = skipQuoted(s, i);
        if (i < 0 || i > end) return undefined;
      } else {
        while (i < end && VALUE_STOP[s.charCodeAt(i)] !== 1) i++;
        if (i === vs) return undefined;
      }
      value = s.slice(vs, i);
    }
    out.push({ name, value });
  }
  paramsEnd = i;
  return out;
}

/** Usual lower-case parameter names (§20.42, §19.1.1, §20.10, RFC 3581, RFC 5626), by length. */
const COMMON_NAMES: string[][] = [];
for (const n of [
  'branch',
  'received',
  'rport',
  'tag',
  'lr',
  'transport',
  'expires',
  'maddr',
  'ttl',
  'user',
  'method',
  'ob',
  'q',
]) {
  const list = COMMON_NAMES[n.length] ?? [];
  list.push(n);
  COMMON_NAMES[n.length] = list;
}

/**
 * `s.slice(a, b)`, but the usual parameter names (exact lower-case spelling) come back as
 * shared literals: no string allocated per parameter for `branch`, `tag`, `lr`….
 */
export function paramName(s: string, a: number, b: number): string {
  const list = COMMON_NAMES[b - a];
  if (list !== undefined) {
    for (let k = 0; k < list.length; k++) {
      const lit = list[k] as string;
      let j = 0;
      while (j < lit.length && s.charCodeAt(a + j) === lit.charCodeAt(j)) j++;
      if (j === lit.length) return lit;
    }
  }
  return s.slice(a, b);
}

/** True if `s[a, b)` equals the lower-case ASCII `lower`, ignoring case (token names). */
export function nameIs(s: string, a: number, b: number, lower: string): boolean {
  if (b - a !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    if ((s.charCodeAt(a + i) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}
