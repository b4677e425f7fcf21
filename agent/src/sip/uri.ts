/** URI grammar: `sip:`/`sips:` (RFC 3261 §19.1, §25.1), `tel:` (RFC 3966, shallow), other absolute URIs. */
import type { Param, SipUri, TelUri, Uri } from './message.js';
import { fastPaths } from './fast-path.js';
import { parseSipUriFast } from './fast-uri.js';
import { parseParams } from './params.js';
import { hasWspOrCtl, parseDigits } from './scan.js';

const SCHEME_RE = /^[A-Za-z][A-Za-z0-9+.-]*$/;
const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const IPV6_RE = /^\[[0-9A-Fa-f:.]{2,45}\]$/;
const DOMAIN_RE =
  /^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/;
/** Characters that never appear unescaped in a SIP URI. */
const FORBIDDEN_RE = /[<>"{}|\\^`]/;

/** Parses a URI; returns undefined when it is not a syntactically valid absolute URI. */
export function parseUri(raw: string): Uri | undefined {
  if (fastPaths.enabled) {
    const fast = parseSipUriFast(raw);
    if (fast !== undefined) return fast;
  }
  const colon = raw.indexOf(':');
  if (colon <= 0 || hasWspOrCtl(raw)) return undefined;
  const scheme = raw.slice(0, colon).toLowerCase();
  if (scheme === 'sip' || scheme === 'sips') return parseSipUri(raw, scheme, raw.slice(colon + 1));
  if (!SCHEME_RE.test(scheme) || colon === raw.length - 1) return undefined;
  if (scheme === 'tel') return parseTelUri(raw, raw.slice(colon + 1));
  if (/[<>"]/.test(raw)) return undefined;
  return { kind: 'absolute', scheme, raw };
}

function parseSipUri(raw: string, scheme: 'sip' | 'sips', rest: string): SipUri | undefined {
  if (FORBIDDEN_RE.test(rest)) return undefined;
  let userRaw: string | undefined;
  let password: string | undefined;
  // '@' is not allowed unescaped in user, password, params or headers: the first one ends userinfo.
  const at = rest.indexOf('@');
  let hostPart = rest;
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    hostPart = rest.slice(at + 1);
    const pw = userinfo.indexOf(':');
    userRaw = pw < 0 ? userinfo : userinfo.slice(0, pw);
    if (pw >= 0) password = userinfo.slice(pw + 1);
    if (userRaw.length === 0) return undefined;
  }
  const hp = parseHostPort(hostPart);
  if (hp === undefined) return undefined;
  let tail = hostPart.slice(hp.end);
  let headers: Param[] = [];
  const q = tail.indexOf('?');
  if (q >= 0) {
    const parsed = parseUriHeaders(tail.slice(q + 1));
    if (parsed === undefined) return undefined;
    headers = parsed;
    tail = tail.slice(0, q);
  }
  let params: Param[] = [];
  if (tail.length > 0) {
    if (tail.charCodeAt(0) !== 0x3b) return undefined;
    const parsed = parseParams(tail.slice(1));
    if (parsed === undefined) return undefined;
    params = parsed;
  }
  return {
    kind: 'sip',
    scheme,
    user: userRaw === undefined ? undefined : decodeEscapes(userRaw),
    userRaw,
    password,
    host: hp.host,
    hostKind: hp.hostKind,
    port: hp.port,
    params,
    headers,
    raw,
  };
}

export interface HostPort {
  readonly host: string;
  readonly hostKind: SipUri['hostKind'];
  readonly port: number | undefined;
  /** Index after the host[:port] in the input. */
  readonly end: number;
}

/** host [":" port] at the start of `s`, stopping at `;`, `?`, `,`, SP or end (RFC 3261 §25.1 hostport). */
export function parseHostPort(s: string): HostPort | undefined {
  let i = 0;
  if (s.charCodeAt(0) === 0x5b) {
    i = s.indexOf(']');
    if (i < 0) return undefined;
    i++;
  } else {
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === 0x3a || c === 0x3b || c === 0x3f || c === 0x2c || c === 0x20 || c === 0x09) break;
      i++;
    }
  }
  const host = s.slice(0, i).toLowerCase();
  const hostKind = classifyHost(host);
  if (hostKind === undefined) return undefined;
  let port: number | undefined;
  if (s.charCodeAt(i) === 0x3a) {
    let j = i + 1;
    while (j < s.length && s.charCodeAt(j) >= 0x30 && s.charCodeAt(j) <= 0x39) j++;
    port = parseDigits(s.slice(i + 1, j), 5);
    if (port === undefined || port > 65535) return undefined;
    i = j;
  }
  return { host, hostKind, port, end: i };
}

function classifyHost(host: string): SipUri['hostKind'] | undefined {
  if (host.length === 0 || host.length > 255) return undefined;
  if (host.charCodeAt(0) === 0x5b) return IPV6_RE.test(host) ? 'ipv6' : undefined;
  const v4 = IPV4_RE.exec(host);
  if (v4 !== null) return v4.slice(1).every((o) => Number(o) <= 255) ? 'ipv4' : undefined;
  return DOMAIN_RE.test(host) ? 'domain' : undefined;
}

function parseUriHeaders(s: string): Param[] | undefined {
  const out: Param[] = [];
  for (const part of s.split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    out.push({ name: part.slice(0, eq), value: part.slice(eq + 1) });
  }
  return out;
}

function parseTelUri(raw: string, rest: string): TelUri | undefined {
  const semi = rest.indexOf(';');
  const number = semi < 0 ? rest : rest.slice(0, semi);
  if (number.length === 0 || !/^[0-9A-Fa-f*#+().\-pPwW]+$/.test(number)) return undefined;
  const params = semi < 0 ? [] : parseParams(rest.slice(semi + 1));
  if (params === undefined) return undefined;
  return { kind: 'tel', scheme: 'tel', number, params, raw };
}

/** Decodes `%hh` escapes (RFC 3261 §19.1.4: compare user parts decoded). Invalid escapes stay as written. */
export function decodeEscapes(s: string): string {
  if (s.indexOf('%') < 0) return s;
  return s.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/** Host of a URI when it has one (sip/sips), for routing decisions. */
export function uriHost(uri: Uri): string | undefined {
  return uri.kind === 'sip' ? uri.host : undefined;
}
