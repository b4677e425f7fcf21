import type { Via } from '../sip/message.js';
import type { Endpoint } from './types.js';

/** Host as an address for comparison: no IPv6 brackets, no IPv4-mapped prefix, lower case. */
export function normalizeHost(host: string): string {
  if (isNormal(host)) return host;
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const lower = bare.toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
}

/** No bracket, colon or upper-case letter: an IPv4 address or a lower-case name, already normal. */
function isNormal(host: string): boolean {
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c === 0x5b || c === 0x3a || (c >= 0x41 && c <= 0x5a)) return false;
  }
  return true;
}

/**
 * What to add to the top Via of an inbound request (pure).
 * - RFC 3261 §18.2.1: `received` when the sent-by host is a domain name or an IP address that
 *   differs from the packet's source address.
 * - RFC 3581 §4: when the Via carries `rport` without a value, fill it with the source port,
 *   and add `received` even if it equals sent-by.
 * Returns `undefined` when nothing needs stamping.
 */
export function viaStampFor(via: Via, source: Endpoint): { received?: string; rport?: number } | undefined {
  const sourceAddress = normalizeHost(source.address);
  const wantsRport = via.rport === true;
  const differs = normalizeHost(via.host) !== sourceAddress;
  if (!wantsRport && !differs) return undefined;
  return wantsRport ? { received: sourceAddress, rport: source.port } : { received: sourceAddress };
}
