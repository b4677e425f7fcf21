import { err, ok, type Result } from '@sipwall/shared';
import { TOKEN_CHARS } from '../sip/scan.js';

/**
 * Digest `Authorization` / `Proxy-Authorization` credentials (RFC 7616 §3.4, RFC 2617 §3.2.2),
 * with quoted-strings already unquoted and unescaped.
 */
export interface DigestCredentials {
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  /** digest-uri as the client wrote it (compared against the Request-URI). */
  readonly uri: string;
  /** Lower-cased hex. */
  readonly response: string;
  /** As written; `undefined` means MD5 (RFC 2617 §3.2.2). */
  readonly algorithm: string | undefined;
  readonly cnonce: string | undefined;
  /** nonce-count, parsed from its 8 hex digits. */
  readonly nc: number | undefined;
  /** nonce-count exactly as written: this text, not a re-rendering, enters the hash. */
  readonly ncText: string | undefined;
  readonly qop: string | undefined;
  readonly opaque: string | undefined;
  /** RFC 7616 §3.4.4 `userhash=true` (the agent does not support it; kept so verify can refuse). */
  readonly userhash: boolean;
}

/** Closed set of reasons a credentials header is malformed. Tests assert on these. */
export type DigestParseErrorCode =
  | 'too-long'
  | 'not-digest'
  | 'bad-syntax'
  | 'duplicate-param'
  | 'too-many-params'
  | 'missing-param'
  | 'bad-param-value';

export interface DigestParseError {
  readonly code: DigestParseErrorCode;
  /** The parameter concerned, when there is one. */
  readonly param?: string;
}

/** Hard bounds: a hostile header must not cost more than this to look at. */
const MAX_HEADER_CHARS = 4096;
const MAX_PARAMS = 32;

const LHEX8 = /^[0-9a-fA-F]{8}$/;
const RESPONSE_HEX = /^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{64})$/;

function isWs(c: string | undefined): boolean {
  return c === ' ' || c === '\t';
}

/** Reads a token starting at `i`; returns [token, nextIndex]. */
function readToken(s: string, i: number): [string, number] {
  let j = i;
  while (j < s.length && TOKEN_CHARS[s.charCodeAt(j)] === 1) j++;
  return [s.slice(i, j), j];
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const CR = 0x0d;
const LF = 0x0a;

/** Reads a quoted-string at `i` (which must be `"`), honouring `\` quoted-pairs (RFC 7230 §3.2.6). */
function readQuoted(s: string, i: number): [string, number] | undefined {
  // Common case: no quoted-pair, so the value is one slice of the header.
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === QUOTE) return [s.slice(i + 1, j), j + 1];
    if (c === BACKSLASH) return readQuotedEscaped(s, i);
    if (c === CR || c === LF) return undefined;
  }
  return undefined;
}

function readQuotedEscaped(s: string, i: number): [string, number] | undefined {
  let out = '';
  let j = i + 1;
  while (j < s.length) {
    const c = s[j]!;
    if (c === '"') return [out, j + 1];
    if (c === '\\') {
      const next = s[j + 1];
      if (next === undefined) return undefined;
      out += next;
      j += 2;
      continue;
    }
    if (c === '\r' || c === '\n') return undefined;
    out += c;
    j++;
  }
  return undefined;
}

function skipWs(s: string, i: number): number {
  let j = i;
  while (isWs(s[j])) j++;
  return j;
}

/** Splits `auth-param *( "," auth-param )` into lower-cased names and unquoted values. */
function parseParamList(s: string, start: number): Result<Map<string, string>, DigestParseError> {
  const params = new Map<string, string>();
  let i = start;
  for (let guard = 0; guard <= MAX_PARAMS * 2 + 2; guard++) {
    i = skipWs(s, i);
    // #rule: empty list elements are allowed (RFC 7230 §7).
    if (s[i] === ',') {
      i++;
      continue;
    }
    if (i >= s.length) return ok(params);
    const [rawName, afterName] = readToken(s, i);
    if (rawName === '') return err({ code: 'bad-syntax' });
    i = skipWs(s, afterName);
    if (s[i] !== '=') return err({ code: 'bad-syntax', param: rawName.toLowerCase() });
    i = skipWs(s, i + 1);
    let value: string;
    if (s[i] === '"') {
      const quoted = readQuoted(s, i);
      if (quoted === undefined) return err({ code: 'bad-syntax', param: rawName.toLowerCase() });
      [value, i] = quoted;
    } else {
      [value, i] = readToken(s, i);
      if (value === '') return err({ code: 'bad-syntax', param: rawName.toLowerCase() });
    }
    const name = rawName.toLowerCase();
    if (params.has(name)) return err({ code: 'duplicate-param', param: name });
    if (params.size >= MAX_PARAMS) return err({ code: 'too-many-params' });
    params.set(name, value);
    i = skipWs(s, i);
    if (i < s.length && s[i] !== ',') return err({ code: 'bad-syntax', param: name });
  }
  return err({ code: 'too-many-params' });
}

function required(params: Map<string, string>, name: string): Result<string, DigestParseError> {
  const v = params.get(name);
  return v === undefined ? err({ code: 'missing-param', param: name }) : ok(v);
}

/**
 * Parses one `Authorization` / `Proxy-Authorization` header value with the Digest scheme.
 * Never throws. Values may be token or quoted-string regardless of what the RFC prescribes
 * for each (phones quote `qop` and `algorithm` in the wild); duplicates are refused because
 * two `response=` values would let the two sides disagree about what was signed.
 */
export function parseDigestCredentials(header: string): Result<DigestCredentials, DigestParseError> {
  if (header.length > MAX_HEADER_CHARS) return err({ code: 'too-long' });
  const s = header.trim();
  const [scheme, afterScheme] = readToken(s, 0);
  if (scheme.toLowerCase() !== 'digest' || !isWs(s[afterScheme])) return err({ code: 'not-digest' });
  const parsed = parseParamList(s, afterScheme);
  if (!parsed.ok) return parsed;
  const p = parsed.value;

  const fields: Record<string, string> = {};
  for (const name of ['username', 'realm', 'nonce', 'uri', 'response'] as const) {
    const v = required(p, name);
    if (!v.ok) return v;
    fields[name] = v.value;
  }
  const response = fields['response']!;
  if (!RESPONSE_HEX.test(response)) return err({ code: 'bad-param-value', param: 'response' });

  const qop = p.get('qop');
  const cnonce = p.get('cnonce');
  const ncRaw = p.get('nc');
  // RFC 7616 §3.4: cnonce and nc MUST be present when qop is, and MUST NOT be otherwise (RFC 2617 §3.2.2).
  if (qop !== undefined && (cnonce === undefined || ncRaw === undefined)) {
    return err({ code: 'missing-param', param: cnonce === undefined ? 'cnonce' : 'nc' });
  }
  if (qop === undefined && (cnonce !== undefined || ncRaw !== undefined)) {
    return err({ code: 'bad-param-value', param: 'qop' });
  }
  if (ncRaw !== undefined && !LHEX8.test(ncRaw)) return err({ code: 'bad-param-value', param: 'nc' });
  const userhashRaw = p.get('userhash');
  if (userhashRaw !== undefined && !/^(?:true|false)$/i.test(userhashRaw)) {
    return err({ code: 'bad-param-value', param: 'userhash' });
  }

  return ok({
    username: fields['username']!,
    realm: fields['realm']!,
    nonce: fields['nonce']!,
    uri: fields['uri']!,
    response: response.toLowerCase(),
    algorithm: p.get('algorithm'),
    cnonce,
    nc: ncRaw === undefined ? undefined : Number.parseInt(ncRaw, 16),
    ncText: ncRaw,
    qop,
    opaque: p.get('opaque'),
    userhash: userhashRaw?.toLowerCase() === 'true',
  });
}

/** A `WWW-Authenticate` / `Proxy-Authenticate` Digest challenge (RFC 7616 §3.3). */
export interface DigestChallenge {
  readonly realm: string;
  readonly nonce: string;
  readonly algorithm: 'MD5' | 'SHA-256';
  /** RFC 7616 §3.3: the previous request carried a valid response with an outdated nonce. */
  readonly stale: boolean;
  readonly opaque?: string;
}

/** Quotes a value as an RFC 7230 quoted-string, escaping `"` and `\`. */
export function quoteString(value: string): string {
  if (value.indexOf('"') < 0 && value.indexOf('\\') < 0) return `"${value}"`;
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/**
 * Renders a challenge header value. Always offers `qop="auth"` (the agent refuses RFC 2069
 * responses, see `digest.ts`).
 */
export function renderDigestChallenge(c: DigestChallenge): string {
  const parts = [
    `realm=${quoteString(c.realm)}`,
    `nonce=${quoteString(c.nonce)}`,
    `algorithm=${c.algorithm}`,
    `qop="auth"`,
  ];
  if (c.opaque !== undefined) parts.push(`opaque=${quoteString(c.opaque)}`);
  if (c.stale) parts.push('stale=true');
  return `Digest ${parts.join(', ')}`;
}
