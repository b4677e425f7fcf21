import type { SipMessage, SipRequest, Uri, Via } from '../sip/message.js';
import { defaultPort } from '../transport/default-port.js';

/**
 * Transaction matching (RFC 3261 §17.1.3, §17.2.3). Pure functions from a message to a
 * string key; the layer keeps maps by these keys.
 */

/** RFC 3261 §8.1.1.7: branches of compliant elements start with this magic cookie. */
export const MAGIC_COOKIE = 'z9hG4bK';

export function hasMagicCookie(branch: string | undefined): branch is string {
  return branch?.startsWith(MAGIC_COOKIE) === true && branch.length > MAGIC_COOKIE.length;
}

function sentBy(via: Pick<Via, 'host' | 'port' | 'transport'>): string {
  return `${via.host.toLowerCase()}:${via.port ?? defaultPort(via.transport)}`;
}

function cookieKey(branch: string, sentBy: string, method: string): string {
  return `3261|${branch}|${sentBy}|${method}`;
}

/**
 * The §17.2.3 key of a request known only by its top Via's parts and method (a scan of its raw
 * bytes, before parsing); `undefined` without the magic cookie (RFC 2543 matching needs the parse).
 */
/** The parts of a top Via that §17.2.3 matching reads (from a parse or a scan of raw bytes). */
export type ViaMatchParts = Pick<Via, 'transport' | 'host' | 'port' | 'branch'>;

export function serverKeyFromVia(via: ViaMatchParts, method: string): string | undefined {
  if (!hasMagicCookie(via.branch)) return undefined;
  return cookieKey(via.branch, sentBy(via), matchingMethod(method));
}

/** ACK (for a non-2xx) and the INVITE it acknowledges share one server transaction (§17.2.3). */
function matchingMethod(method: string): string {
  return method === 'ACK' ? 'INVITE' : method;
}

function uriKey(uri: Uri): string {
  return uri.raw.toLowerCase();
}

/**
 * Server transaction key of a request.
 * - With the magic cookie (§17.2.3): branch + sent-by + method (ACK → INVITE).
 * - Otherwise the RFC 2543 fallback (§17.2.3): Request-URI, From tag, Call-ID, CSeq number and
 *   method (ACK → INVITE), top Via. The To tag is checked by the transaction itself
 *   ({@link requestMatchesToTag}) because the ACK carries the tag of our response, not of the INVITE.
 */
export function serverTransactionKey(request: SipRequest): string | undefined {
  return serverKeyFor(request, matchingMethod(request.method));
}

/**
 * §9.2: the INVITE server transaction a CANCEL targets: the same key as the CANCEL computed with
 * method INVITE (with the cookie, same branch + sent-by; without it, the 2543 fields).
 */
export function cancelTargetKey(cancel: SipRequest): string | undefined {
  return serverKeyFor(cancel, 'INVITE');
}

function serverKeyFor(request: SipRequest, method: string): string | undefined {
  const top = request.via[0];
  if (top === undefined) return undefined;
  if (hasMagicCookie(top.branch)) return cookieKey(top.branch, sentBy(top), method);
  const via = `${top.transport}|${sentBy(top)}|${top.branch ?? ''}`;
  return `2543|${uriKey(request.requestUri)}|${request.from.tag ?? ''}|${request.callId}|${request.cseq.seq}|${method}|${via}`;
}

/** Is this a request matched only by the RFC 2543 rules (so To tags must be compared)? */
export function usesRfc2543Matching(request: SipRequest): boolean {
  return !hasMagicCookie(request.via[0]?.branch);
}

/**
 * RFC 2543 fallback, To-tag part (§17.2.3): a retransmission (or a CANCEL, §9.2) carries the
 * same To tag as the original request; an ACK carries the To tag of the response we sent.
 */
export function requestMatchesToTag(
  request: SipRequest,
  original: SipRequest,
  lastToTag: string | undefined,
): boolean {
  if (!usesRfc2543Matching(request)) return true;
  if (request.method === 'ACK') return request.to.tag === (lastToTag ?? original.to.tag);
  return request.to.tag === original.to.tag;
}

/**
 * Client transaction key (§17.1.3): branch of the top Via + CSeq method. Our own branches
 * always carry the cookie, so no fallback is needed on the client side.
 */
export function clientTransactionKey(message: SipMessage): string | undefined {
  const branch = message.via[0]?.branch;
  if (branch === undefined) return undefined;
  return `${branch}|${message.cseq.method}`;
}
