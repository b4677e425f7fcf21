/**
 * Fast path of SIP-URI / SIPS-URI (RFC 3261 §19.1, §25.1) for the common shape
 * `sip:[user@]host[:port][;params]`: lower-case scheme, no password, no `%` escapes, no
 * `?headers`, nothing that needs escaping. Anything else returns `undefined` and
 * `parseUri` (uri.ts) takes the general path, which then accepts or rejects it.
 */
import type { SipUri } from './message.js';
import { paramsEnd, scanParams } from './params.js';
import { hostScan, scanHostPort } from './host.js';

/** Octets the fast path leaves to the general parser: CTL, SP, DEL, `<>"{}|\^` and backquote (never unescaped in a SIP URI), `?` (headers), `%` (escapes). */
const SLOW = new Uint8Array(256);
for (let c = 0; c <= 0x20; c++) SLOW[c] = 1;
for (const ch of '<>"{}|\\^`?%') SLOW[ch.charCodeAt(0)] = 1;
SLOW[0x7f] = 1;

export function parseSipUriFast(raw: string): SipUri | undefined {
  const n = raw.length;
  let i: number;
  let scheme: 'sip' | 'sips';
  if (raw.startsWith('sip:')) {
    scheme = 'sip';
    i = 4;
  } else if (raw.startsWith('sips:')) {
    scheme = 'sips';
    i = 5;
  } else {
    return undefined;
  }
  const restStart = i;
  let at = -1;
  let colon = -1;
  for (let j = restStart; j < n; j++) {
    const c = raw.charCodeAt(j);
    if (SLOW[c] === 1) return undefined;
    if (c === 0x40) {
      if (at < 0) at = j;
    } else if (c === 0x3a && at < 0 && colon < 0) {
      colon = j;
    }
  }
  let userRaw: string | undefined;
  if (at >= 0) {
    // userinfo = user [":" password] "@": the first "@" ends it (§25.1); passwords go the general way.
    if (at === restStart || (colon >= 0 && colon < at)) return undefined;
    userRaw = raw.slice(restStart, at);
    i = at + 1;
  }
  if (!scanHostPort(raw, i, n)) return undefined;
  i = hostScan.end;
  let params: SipUri['params'] = [];
  if (i < n) {
    const parsed = scanParams(raw, i, n);
    if (parsed === undefined || paramsEnd !== n) return undefined;
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
    raw,
  };
}
