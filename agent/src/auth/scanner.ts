import { getHeader } from '../sip/accessors.js';
import type { SipRequest } from '../sip/message.js';
import type { BruteForceGuard } from './brute-force.js';
import type { SecurityEvent } from './security-event.js';

/**
 * Whether a User-Agent names a known SIP scanner (`policies.dropUserAgents`: case-insensitive
 * substrings such as `friendly-scanner`). Such requests are dropped without a response, so the
 * scanner learns nothing; the caller records a `scanner-dropped` event.
 */
export function matchesScanner(userAgent: string | undefined, dropUserAgents: readonly string[]): boolean {
  if (userAgent === undefined || userAgent.length === 0) return false;
  const ua = userAgent.toLowerCase();
  for (const pattern of dropUserAgents) {
    if (pattern.length > 0 && ua.includes(pattern.toLowerCase())) return true;
  }
  return false;
}

/** What the source screen needs: the brute-force guard, the scanner list, where events go. */
export interface SourceScreenDeps {
  readonly bruteForce: Pick<BruteForceGuard, 'check'>;
  readonly dropUserAgents: readonly string[];
  readonly onSecurityEvents: (events: readonly SecurityEvent[]) => void;
}

/**
 * The first screen of every request the agent authenticates (REGISTER in main and passive mode,
 * the proxy's 407 check): a source blocked for failed passwords, or a known scanner (its
 * `scanner-dropped` event recorded here). The caller drops both (or answers 403 where told to).
 */
export function screenSource(
  request: SipRequest,
  source: string,
  now: number,
  deps: SourceScreenDeps,
): 'ok' | 'blocked' | 'scanner' {
  if (deps.bruteForce.check(source, now) === 'blocked') return 'blocked';
  if (!matchesScanner(getHeader(request, 'user-agent'), deps.dropUserAgents)) return 'ok';
  deps.onSecurityEvents([
    { event: 'scanner-dropped', source, detail: 'User-Agent matches dropUserAgents', at: now },
  ]);
  return 'scanner';
}
