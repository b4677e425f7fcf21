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
