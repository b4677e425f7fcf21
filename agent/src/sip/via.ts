/** Via grammar (RFC 3261 §20.42, §25.1 via-parm; RFC 3581 rport). */
import type { Via } from './message.js';
import { fastPaths } from './fast-path.js';
import { parseViaListFast } from './fast-via.js';
import { findParam, parseParams } from './params.js';
import { parseHostPort } from './uri.js';
import { isToken, isWsp, parseDigits, splitTopLevel, trimWsp } from './scan.js';

/** Parses every via-parm of one Via header value (comma-separated). */
export function parseViaList(value: string): Via[] | undefined {
  if (fastPaths.enabled) {
    const fast = parseViaListFast(value, 0, value.length);
    if (fast !== undefined) return fast;
  }
  const parts = splitTopLevel(value, 0x2c);
  if (parts === undefined) return undefined;
  const out: Via[] = [];
  for (const part of parts) {
    const via = parseVia(part);
    if (via === undefined) return undefined;
    out.push(via);
  }
  return out;
}

/** One via-parm: `SIP / 2.0 / UDP host:port;params` (LWS allowed around `/` and `:`, RFC 4475 §3.1.1.1). */
export function parseVia(raw: string): Via | undefined {
  const slash1 = raw.indexOf('/');
  if (slash1 < 0) return undefined;
  const slash2 = raw.indexOf('/', slash1 + 1);
  if (slash2 < 0) return undefined;
  const protocolName = trimWsp(raw.slice(0, slash1));
  const protocolVersion = trimWsp(raw.slice(slash1 + 1, slash2));
  let i = slash2 + 1;
  while (i < raw.length && isWsp(raw.charCodeAt(i))) i++;
  const tStart = i;
  while (i < raw.length && !isWsp(raw.charCodeAt(i))) i++;
  const transport = raw.slice(tStart, i).toUpperCase();
  if (!isToken(protocolName) || !isToken(protocolVersion) || !isToken(transport)) return undefined;
  const wsStart = i;
  while (i < raw.length && isWsp(raw.charCodeAt(i))) i++;
  if (i === wsStart) return undefined;
  const sentBy = normaliseSentBy(raw.slice(i));
  const hp = parseHostPort(sentBy);
  if (hp === undefined) return undefined;
  const tail = trimWsp(sentBy.slice(hp.end));
  let params: Via['params'] = [];
  if (tail.length > 0) {
    if (tail.charCodeAt(0) !== 0x3b) return undefined;
    const parsed = parseParams(tail.slice(1));
    if (parsed === undefined) return undefined;
    params = parsed;
  }
  const rport = parseRport(findParam(params, 'rport'));
  if (rport === null) return undefined;
  return {
    protocolName,
    protocolVersion,
    transport,
    host: hp.host,
    port: hp.port,
    branch: findParam(params, 'branch')?.value,
    received: findParam(params, 'received')?.value,
    rport,
    params,
    raw,
  };
}

/** Drops LWS around the sent-by COLON (`host : 5060`), which §25.1 allows. */
function normaliseSentBy(s: string): string {
  return s.indexOf(' ') < 0 && s.indexOf('\t') < 0 ? s : s.replace(/[ \t]*(:|;)[ \t]*/g, '$1');
}

/** null = malformed rport value. */
function parseRport(p: { value: string | undefined } | undefined): Via['rport'] | null {
  if (p === undefined) return undefined;
  if (p.value === undefined) return true;
  const n = parseDigits(p.value, 5);
  return n === undefined || n > 65535 ? null : n;
}
