import type { SipRequest } from '../sip/message.js';
import type { InterfaceMap } from './interfaces.js';
import { normalizeHost } from '../transport/via-stamp.js';

/** The agent's branch prefix: RFC 3261 magic cookie + `-sw` + the request's loop hash + `.`. */
const PREFIX = 'z9hG4bK-sw';

/** 32-bit FNV-1a of a latin1 string, base 36 (fast, not secret). */
export function fnv(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}

/**
 * §16.3 step 4 / §16.6 step 8: what makes a request the same request when it comes back: its
 * Request-URI, tags, Call-ID and CSeq number. A spiral (the Request-URI changed on the way)
 * hashes differently; a loop hashes the same.
 */
export function loopHash(req: SipRequest): string {
  return fnv(`${req.requestUri.raw}|${req.from.tag ?? ''}|${req.to.tag ?? ''}|${req.callId}|${req.cseq.seq}`);
}

/** The branch for a request the agent forwards: loop hash + a unique part. */
export function branchFor(hash: string, unique: string): string {
  const tail = unique.startsWith('z9hG4bK') ? unique.slice(7) : unique;
  return `${PREFIX}${hash}.${tail}`;
}

/** Whether one of the request's Vias is the agent's own for this very request (a loop). */
export function isLoop(req: SipRequest, interfaces: InterfaceMap, hash: string = loopHash(req)): boolean {
  const marker = `${PREFIX}${hash}.`;
  for (const v of req.via) {
    if (v.branch?.startsWith(marker) !== true) continue;
    const host = normalizeHost(v.host);
    if (interfaces.all.some((i) => i.advertised === host || i.address === host)) return true;
  }
  return false;
}

/** Whether a Via branch is one the agent made. */
export function isOwnBranch(branch: string | undefined): boolean {
  return branch?.startsWith(PREFIX) === true;
}
