import type { SipUri, Uri } from '../sip/message.js';

/**
 * Canonical address-of-record (RFC 3261 §10.3 step 5): all URI parameters removed, escapes
 * decoded, domain lower-cased. `sips:` maps to `sip:` and the port is dropped, so a user has
 * one set of bindings whichever form the phone writes in To. `undefined` for non-SIP URIs and
 * URIs without a user part (an AOR names a user).
 */
export function canonicalAor(uri: Uri): string | undefined {
  if (uri.kind !== 'sip' || uri.user === undefined || uri.user.length === 0) return undefined;
  return `sip:${uri.user}@${uri.host.toLowerCase()}`;
}

/** The canonical AOR for a configured user. */
export function userAor(username: string, domain: string): string {
  return `sip:${username}@${domain.toLowerCase()}`;
}

/** uri-parameters that make two SIP URIs differ when present in only one (RFC 3261 §19.1.4). */
const SIGNIFICANT_PARAMS = ['maddr', 'method', 'ttl', 'user'] as const;

/**
 * A string key under which two contact URIs collide when RFC 3261 §19.1.4 calls them equal, close
 * enough for binding identity: scheme, user (decoded, case-sensitive), host (case-insensitive),
 * port, and the parameters that always matter (`user`, `ttl`, `method`, `maddr`). Other
 * parameters (`transport`, `line`, `ob`, …) are ignored, which treats `;transport=tcp` and
 * `;transport=udp` forms of one address as the same binding: a phone switching transport
 * refreshes its binding rather than adding a second one. URI headers are ignored.
 */
export function contactKey(uri: SipUri): string {
  let key = `${uri.scheme}:${uri.user === undefined ? '' : `${uri.user}@`}${uri.host.toLowerCase()}`;
  if (uri.port !== undefined) key += `:${uri.port}`;
  for (const name of SIGNIFICANT_PARAMS) {
    const p = uri.params.find((x) => x.name.toLowerCase() === name);
    if (p !== undefined) key += `;${name}=${(p.value ?? '').toLowerCase()}`;
  }
  return key;
}
