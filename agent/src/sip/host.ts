/**
 * Fast path of `hostport` (RFC 3261 §25.1) for IPv4 addresses and domain names, without
 * regexes: one charCode pass that classifies as it goes. IPv6 references and anything the
 * fast path does not fully decide return `undefined` so `parseHostPort` (uri.ts) decides.
 */
import type { SipUri } from './message.js';

/** Results of the last `scanHostPort` (module scratch, read right after the call). */
export const hostScan = {
  host: '',
  kind: 'domain' as SipUri['hostKind'],
  port: undefined as number | undefined,
  end: 0,
};

/**
 * Class of each octet of hostname / IPv4address (§25.1: alphanum / "-" / "."; plus `_` as
 * uri.ts allows): 0 = not a host octet, 1 = lower-case letter or `_`, 2 = DIGIT, 3 = ".",
 * 4 = "-", 5 = upper-case letter. One lookup and one branch for the usual octet.
 */
const HOST_CLASS = new Uint8Array(256);
for (const ch of 'abcdefghijklmnopqrstuvwxyz_') HOST_CLASS[ch.charCodeAt(0)] = 1;
for (const ch of '0123456789') HOST_CLASS[ch.charCodeAt(0)] = 2;
HOST_CLASS[0x2e] = 3;
HOST_CLASS[0x2d] = 4;
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') HOST_CLASS[ch.charCodeAt(0)] = 5;
/** Octets that may follow a hostport: `;` `?` `,` SP HT (and `:` before a port). */
const AFTER_HOST = new Uint8Array(256);
for (const ch of ';?, \t') AFTER_HOST[ch.charCodeAt(0)] = 1;

/**
 * Scans `host [":" port]` at `s[i]` up to `end`. On success fills `hostScan` and returns true.
 * hostname = *( domainlabel "." ) toplabel [ "." ], domainlabel = alphanum / alphanum *( alphanum / "-" ) alphanum;
 * IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT (each ≤ 255); port = 1*5DIGIT ≤ 65535.
 */
export function scanHostPort(s: string, i: number, end: number): boolean {
  const start = i;
  let labelStart = i;
  let upper = false;
  let digitsAndDots = true;
  let dots = 0;
  for (; i < end; i++) {
    const k = HOST_CLASS[s.charCodeAt(i)] as number;
    if (k === 1) {
      digitsAndDots = false;
      continue;
    }
    if (k === 2) continue;
    if (k === 0) break;
    if (k === 3) {
      // A label is non-empty and neither starts nor ends with "-".
      if (i === labelStart || s.charCodeAt(i - 1) === 0x2d) return false;
      dots++;
      labelStart = i + 1;
    } else if (k === 4) {
      if (i === labelStart) return false;
      digitsAndDots = false;
    } else {
      digitsAndDots = false;
      upper = true;
    }
  }
  const hostEnd = i;
  if (hostEnd === start || hostEnd - start > 255) return false;
  // The last label may be empty only as a trailing dot after a real label; it may not end in "-".
  if (
    hostEnd === labelStart
      ? dots === 0 || s.charCodeAt(hostEnd - 1) !== 0x2e
      : s.charCodeAt(hostEnd - 1) === 0x2d
  ) {
    return false;
  }
  let kind: SipUri['hostKind'] = 'domain';
  if (digitsAndDots && dots === 3 && hostEnd !== labelStart) {
    if (!isIpv4(s, start, hostEnd)) return false;
    kind = 'ipv4';
  }
  let port: number | undefined;
  if (i < end && s.charCodeAt(i) === 0x3a) {
    const ps = ++i;
    port = 0;
    while (i < end && i - ps < 6) {
      const d = s.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) break;
      port = port * 10 + d;
      i++;
    }
    if (i === ps || i - ps > 5 || port > 65535) return false;
  }
  if (i < end && AFTER_HOST[s.charCodeAt(i)] !== 1) return false;
  const host = s.slice(start, hostEnd);
  hostScan.host = upper ? host.toLowerCase() : host;
  hostScan.kind = kind;
  hostScan.port = port;
  hostScan.end = i;
  return true;
}

/** Four dot-separated runs of 1–3 digits, each ≤ 255 (the caller saw only digits and 3 dots). */
function isIpv4(s: string, a: number, b: number): boolean {
  let n = 0;
  let len = 0;
  for (let i = a; i <= b; i++) {
    const c = i === b ? 0x2e : s.charCodeAt(i);
    if (c === 0x2e) {
      if (len === 0 || len > 3 || n > 255) return false;
      n = 0;
      len = 0;
    } else {
      n = n * 10 + (c - 0x30);
      len++;
    }
  }
  return true;
}
