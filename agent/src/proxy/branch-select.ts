import type { SipResponse } from '../sip/message.js';

/**
 * RFC 3261 §16.7 step 6: the best of a response context's final responses when no 2xx came:
 * a 6xx wins; otherwise the lowest class (3xx before 4xx before 5xx), within a class the first
 * received, except that a 401/407 is preferred inside 4xx (its challenges get aggregated) and a
 * 503 is the last choice of 5xx. `undefined` for an empty list.
 */
export function bestResponse(finals: readonly SipResponse[]): SipResponse | undefined {
  let best: SipResponse | undefined;
  for (const r of finals) {
    if (best === undefined || rank(r) < rank(best)) best = r;
  }
  return best;
}

function rank(r: SipResponse): number {
  const cls = Math.floor(r.status / 100);
  if (cls === 6) return 0;
  if (r.status === 401 || r.status === 407) return 40;
  if (r.status === 503) return 59;
  // 408 from a branch that timed out ranks after real answers of its class.
  if (r.status === 408) return 48;
  return cls * 10 + 1;
}

/**
 * §16.7 step 6: a 503 from downstream must not be forwarded as such (it would mean "this proxy
 * is overloaded"): it becomes 500. Returns the status and reason to send upstream.
 */
export function upstreamStatus(r: SipResponse): { status: number; reason: string } {
  if (r.status === 503) return { status: 500, reason: 'Server Internal Error' };
  return { status: r.status, reason: r.reason };
}

/** Whether a final response of this status should end the other branches of an INVITE (§16.7 step 5 / 10). */
export function cancelsOthers(status: number): boolean {
  return (status >= 200 && status < 300) || status >= 600;
}
