/**
 * Fast path of SIP-URI / SIPS-URI (RFC 3261 §19.1, §25.1) for the common shape
 * `sip:[user@]host[:port][;params]`: lower-case scheme, no password, no `%` escapes, no
 * `?headers`, nothing that needs escaping. Anything else returns `undefined` and
 * `parseUri` (uri.ts) takes the general path, which then accepts or rejects it.
 */
import { hostScan, scanHostPort } from './host.js';
import type { Param, SipUri } from './message.js';
import { paramName } from './params.js';
import { TOKEN_CHARS } from './scan.js';

/** Octets the fast path leaves to the general parser: CTL, SP, DEL, `<>"{}|\^` and backquote (never unescaped in a SIP URI), `?` (headers), `%` (escapes). */
const SLOW = new Uint8Array(256);
for (let c = 0; c <= 0x20; c++) SLOW[c] = 1;
for (const ch of '<>"{}|\\^`?%') SLOW[ch.charCodeAt(0)] = 1;
SLOW[0x7f] = 1;

/** uri-parameter name octets on the fast path: token (§25.1) minus the SLOW octets `%` and backquote. */
const NAME = new Uint8Array(256);
for (let c = 0; c < 256; c++) NAME[c] = TOKEN_CHARS[c] === 1 && SLOW[c] !== 1 ? 1 : 0;
/** uri-parameter value octets on the fast path (pvalue, §25.1): VCHAR and UTF-8 octets except SLOW, `,` and `;`. */
const VALUE = new Uint8Array(256);
for (let c = 0x21; c < 0x7f; c++) VALUE[c] = SLOW[c] === 1 ? 0 : 1;
for (let c = 0x80; c < 256; c++) VALUE[c] = 1;
VALUE[0x2c] = 0;
VALUE[0x3b] = 0;

/**
 * One pass over the URI: `sip:` / `sips:`, the userinfo up to the first `@` (§25.1: "@" is
 * never unescaped later, so the first one ends userinfo), hostport (host.ts), then
 * uri-parameters to the end. Any SLOW octet, a password or anything left over → undefined.
 */
export function parseSipUriFast(raw: string): SipUri | undefined {
  return parseSipUriFastAt(raw, 0, raw.length);
}

/** `parseSipUriFast` on `s[from, n)` (e.g. inside a header value), without slicing it first. */
export function parseSipUriFastAt(s: string, from: number, n: number): SipUri | undefined {
  let i: number;
  let scheme: 'sip' | 'sips';
  // "sip:" / "sips:" in lower case (other spellings take the general path).
  if (
    n - from < 5 ||
    s.charCodeAt(from) !== 0x73 ||
    s.charCodeAt(from + 1) !== 0x69 ||
    s.charCodeAt(from + 2) !== 0x70
  )
    return undefined;
  const c3 = s.charCodeAt(from + 3);
  if (c3 === 0x3a) {
    scheme = 'sip';
    i = from + 4;
  } else if (c3 === 0x73 && s.charCodeAt(from + 4) === 0x3a) {
    scheme = 'sips';
    i = from + 5;
  } else {
    return undefined;
  }
  let userRaw: string | undefined;
  const at = s.indexOf('@', i);
  if (at >= 0 && at < n) {
    // userinfo = user [":" password] "@"; passwords go the general way.
    if (at === i) return undefined;
    for (let j = i; j < at; j++) {
      const c = s.charCodeAt(j);
      if (SLOW[c] === 1 || c === 0x3a) return undefined;
    }
    userRaw = s.slice(i, at);
    i = at + 1;
  }
  if (!scanHostPort(s, i, n)) return undefined;
  i = hostScan.end;
  let params: Param[] = [];
  if (i < n) {
    const parsed = uriParams(s, i, n);
    if (parsed === undefined) return undefined;
    params = parsed;
  }
  return {
    kind: 'sip',
    scheme,
    user: userRaw,
    userRaw,
    password: undefined,
    host: hostScan.host,
    hostKind: hostScan.kind,
    port: hostScan.port,
    params,
    headers: [],
    raw: from === 0 && n === s.length ? s : s.slice(from, n),
  };
}

/** `1*( ";" uri-parameter )` filling `s[i, n)` exactly: pname [ "=" pvalue ], no quotes, no SLOW octet. */
function uriParams(s: string, i: number, n: number): Param[] | undefined {
  const out: Param[] = [];
  while (i < n) {
    if (s.charCodeAt(i) !== 0x3b) return undefined;
    const ns = ++i;
    while (i < n && NAME[s.charCodeAt(i)] === 1) i++;
    if (i === ns) return undefined;
    const name = paramName(s, ns, i);
    let value: string | undefined;
    if (i < n && s.charCodeAt(i) === 0x3d) {
      const vs = ++i;
      while (i < n && VALUE[s.charCodeAt(i)] === 1) i++;
      if (i === vs) return undefined;
      value = s.slice(vs, i);
    }
    out.push({ name, value });
  }
  return out;
}
