/**
 * Fast path of Via (RFC 3261 §20.42, §25.1): `via-parm *(COMMA via-parm)` where each
 * via-parm is `SIP/2.0/TRANSPORT SP host[:port]*(;via-params)` with no other LWS, an
 * upper-case transport, a domain or IPv4 sent-by and a valid rport (RFC 3581). Anything
 * else returns `undefined` and `parseViaList` (via.ts) takes the general path.
 */
import type { Param, Via } from './message.js';
import { nameIs, paramsEnd, scanParams } from './params.js';
import { hostScan, scanHostPort } from './host.js';
import { parseDigits } from './scan.js';

const NO_PARAMS: readonly Param[] = [];

/** The Via value `value[from, n)` (trimmed; may be a range of the whole header text). */
export function parseViaListFast(value: string, from: number, n: number): Via[] | undefined {
  const out: Via[] = [];
  return parseViaListFastInto(out, value, from, n) ? out : undefined;
}

/**
 * `parseViaListFast` appending to `out` (no array per header); false, with `out` left as it
 * was, when the general path must decide.
 */
export function parseViaListFastInto(out: Via[], value: string, from: number, n: number): boolean {
  const before = out.length;
  let i = from;
  for (;;) {
    const via = viaParm(value, i, n);
    if (via === undefined) break;
    out.push(via);
    i = viaEnd;
    if (i === n) return true;
    // COMMA = SWS "," SWS; SWS before the comma is left to the general path.
    if (value.charCodeAt(i) !== 0x2c) break;
    i++;
    while (i < n && (value.charCodeAt(i) === 0x20 || value.charCodeAt(i) === 0x09)) i++;
    if (i === n) break;
  }
  out.length = before;
  return false;
}

let viaEnd = 0;

/** sent-protocol = "SIP" SLASH "2.0" SLASH transport; transport interned for the usual tokens. */
function viaParm(s: string, start: number, n: number): Via | undefined {
  if (start + 8 > n || !isSip20Slash(s, start)) return undefined;
  let i = start + 8;
  const ts = i;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c < 0x41 || c > 0x5a) break;
    i++;
  }
  if (i === ts || i === n || s.charCodeAt(i) !== 0x20) return undefined;
  const transport = internTransport(s, ts, i);
  i++;
  if (!scanHostPort(s, i, n)) return undefined;
  const host = hostScan.host;
  const port = hostScan.port;
  i = hostScan.end;
  let params = NO_PARAMS;
  if (i < n && s.charCodeAt(i) === 0x3b) {
    const parsed = scanParams(s, i, n);
    if (parsed === undefined) return undefined;
    params = parsed;
    i = paramsEnd;
  }
  if (i < n && s.charCodeAt(i) !== 0x2c) return undefined;
  let branch: string | undefined;
  let received: string | undefined;
  let rport: Via['rport'];
  let seen = 0;
  for (let k = 0; k < params.length; k++) {
    const p = params[k] as Param;
    const name = p.name;
    // First occurrence wins, names compared case-insensitively (like findParam).
    if ((seen & 1) === 0 && (name === 'branch' || nameIs(name, 0, name.length, 'branch'))) {
      seen |= 1;
      branch = p.value;
    } else if ((seen & 2) === 0 && (name === 'received' || nameIs(name, 0, name.length, 'received'))) {
      seen |= 2;
      received = p.value;
    } else if ((seen & 4) === 0 && (name === 'rport' || nameIs(name, 0, name.length, 'rport'))) {
      seen |= 4;
      if (p.value === undefined) rport = true;
      else {
        const r = parseDigits(p.value, 5);
        if (r === undefined || r > 65535) return undefined;
        rport = r;
      }
    }
  }
  viaEnd = i;
  return {
    protocolName: 'SIP',
    protocolVersion: '2.0',
    transport,
    host,
    port,
    branch,
    received,
    rport,
    params: params === NO_PARAMS ? [] : params,
    raw: start === 0 && i === s.length ? s : s.slice(start, i),
  };
}

/** `SIP/2.0/` at `s[i]`, compared by char codes (exact case; anything else takes the general path). */
function isSip20Slash(s: string, i: number): boolean {
  return (
    s.charCodeAt(i) === 0x53 && // S
    s.charCodeAt(i + 1) === 0x49 && // I
    s.charCodeAt(i + 2) === 0x50 && // P
    s.charCodeAt(i + 3) === 0x2f && // /
    s.charCodeAt(i + 4) === 0x32 && // 2
    s.charCodeAt(i + 5) === 0x2e && // .
    s.charCodeAt(i + 6) === 0x30 && // 0
    s.charCodeAt(i + 7) === 0x2f // /
  );
}

/** transport (§25.1 "UDP" / "TCP" / "TLS" / "SCTP" / other-transport): the usual upper-case tokens as literals. */
function internTransport(s: string, a: number, b: number): string {
  const len = b - a;
  if (len === 3) {
    const c0 = s.charCodeAt(a);
    const c1 = s.charCodeAt(a + 1);
    const c2 = s.charCodeAt(a + 2);
    if (c0 === 0x55 && c1 === 0x44 && c2 === 0x50) return 'UDP';
    if (c0 === 0x54 && c1 === 0x43 && c2 === 0x50) return 'TCP';
    if (c0 === 0x54 && c1 === 0x4c && c2 === 0x53) return 'TLS';
    if (c0 === 0x57 && c1 === 0x53 && c2 === 0x53) return 'WSS';
  } else if (len === 2 && s.charCodeAt(a) === 0x57 && s.charCodeAt(a + 1) === 0x53) {
    return 'WS';
  }
  return s.slice(a, b);
}
