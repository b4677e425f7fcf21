/** Low-level lexing helpers shared by the header grammars (RFC 3261 §25.1). */

/** RFC 3261 §25.1 `token` characters (alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"); 256 wide so any latin1 code indexes it. */
export const TOKEN_CHARS = new Uint8Array(256);
for (const ch of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~") {
  TOKEN_CHARS[ch.charCodeAt(0)] = 1;
}

/** True if `s[a, b)` is a non-empty RFC 3261 §25.1 `token`. */
export function isTokenRange(s: string, a: number, b: number): boolean {
  if (a >= b) return false;
  for (let i = a; i < b; i++) if (TOKEN_CHARS[s.charCodeAt(i)] !== 1) return false;
  return true;
}

/** RFC 3261 §25.1 `token`. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (TOKEN_CHARS[c] !== 1) return false;
  }
  return true;
}

export function isWsp(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Trims SP/HT only: `String#trim` would also eat latin1 0x85/0xA0, which are UTF-8 bytes here. */
export function trimWsp(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isWsp(s.charCodeAt(a))) a++;
  while (b > a && isWsp(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** True if `s` contains SP, HT or any control character. */
export function hasWspOrCtl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return true;
  }
  return false;
}

/**
 * Index just past the closing quote of a quoted-string starting at `start` (which must be `"`),
 * honouring `\` escapes (§25.1 quoted-pair); -1 if unterminated.
 */
export function skipQuoted(s: string, start: number): number {
  for (let i = start + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x22) return i + 1;
  }
  return -1;
}

/** Content of a quoted-string with the quotes removed and quoted-pairs unescaped. */
export function unquote(quoted: string): string {
  const inner = quoted.slice(1, -1);
  return inner.includes('\\') ? inner.replace(/\\(.)/gs, '$1') : inner;
}

/**
 * Splits on `sep` outside quoted-strings and `<…>`; pieces are SP/HT-trimmed.
 * Returns undefined on an unterminated quote or `<`.
 */
export function splitTopLevel(s: string, sep: number): string[] | undefined {
  // Fast path: nothing that needs care.
  if (s.indexOf('"') < 0 && s.indexOf('<') < 0) {
    const ch = String.fromCharCode(sep);
    if (s.indexOf(ch) < 0) return [trimWsp(s)];
    return s.split(ch).map(trimWsp);
  }
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      const end = skipQuoted(s, i);
      if (end < 0) return undefined;
      i = end - 1;
    } else if (c === 0x3c) {
      const end = s.indexOf('>', i);
      if (end < 0) return undefined;
      i = end;
    } else if (c === sep) {
      out.push(trimWsp(s.slice(from, i)));
      from = i + 1;
    }
  }
  out.push(trimWsp(s.slice(from)));
  return out;
}

/** Parses a non-negative decimal made only of digits, at most `maxDigits` long; else undefined. */
export function parseDigits(s: string, maxDigits: number): number | undefined {
  if (s.length === 0 || s.length > maxDigits) return undefined;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  return n;
}
