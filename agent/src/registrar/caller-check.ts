import { type AuthenticateContext, authenticateRequest } from '../auth/authenticate.js';
import type { BruteForceGuard } from '../auth/brute-force.js';
import { type AlgorithmPolicy, offeredAlgorithms } from '../auth/offered-algorithms.js';
import { screenSource } from '../auth/scanner.js';
import type { SecurityEvent } from '../auth/security-event.js';
import type { Myself } from '../core/myself.js';
import { getHeaders } from '../sip/accessors.js';
import { createResponse } from '../sip/build.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import { userAor } from './aor.js';
import type { RegistrarUsers } from './registrar-users.js';

/** What the proxy does with a request from the inside that starts a dialog (policy `authenticate`). */
export type CallerVerdict =
  | { readonly kind: 'ok'; readonly user: string | undefined }
  | { readonly kind: 'respond'; readonly response: SipResponse }
  | { readonly kind: 'drop' };

export interface CallerCheckDeps {
  readonly auth: AuthenticateContext;
  readonly algorithms: AlgorithmPolicy;
  readonly users: RegistrarUsers;
  readonly myself: Myself;
  readonly bruteForce: BruteForceGuard;
  readonly dropUserAgents: readonly string[];
  /** Methods that must carry credentials (`policies.authenticate`). */
  readonly methods: ReadonlySet<string>;
  readonly toTag: () => string;
  readonly onSecurityEvents: (events: readonly SecurityEvent[]) => void;
  readonly now: number;
}

/**
 * RFC 3261 §22.3: a proxy challenges with 407 and Proxy-Authenticate. The realm is the caller's
 * domain (its From host, or the site's default domain for an address of the agent or a foreign
 * host); the offered algorithms follow `sip.auth` like the registrar's 401. Blocked sources and
 * scanners are dropped, wrong passwords count toward the brute-force block. The user returned
 * is the authenticated AOR (for call admission and call records).
 */
export function checkCaller(request: SipRequest, source: string, deps: CallerCheckDeps): CallerVerdict {
  const now = deps.now;
  if (screenSource(request, source, now, deps) !== 'ok') return { kind: 'drop' };
  if (!deps.methods.has(request.method)) return { kind: 'ok', user: undefined };
  const from = request.from.uri;
  const domain =
    (from.kind === 'sip' ? deps.myself.aorDomain(from.host) : undefined) ?? deps.myself.defaultDomain;
  const realm = [...deps.auth.realms].find((r) => r.toLowerCase() === domain) ?? domain;
  const user = from.kind === 'sip' && from.user !== undefined ? deps.users.find(from.user, realm) : undefined;
  const decision = authenticateRequest(
    {
      method: request.method,
      requestUri: request.requestUri.raw,
      credentialHeaders: getHeaders(request, 'proxy-authorization'),
      proxy: true,
      realm,
      source,
    },
    { ...deps.auth, algorithms: offeredAlgorithms(deps.algorithms, user, realm) },
    now,
  );
  if (decision.kind === 'authenticated') {
    return { kind: 'ok', user: userAor(decision.username, decision.realm) };
  }
  if (decision.failure) deps.onSecurityEvents(deps.bruteForce.recordFailure(source, undefined, now));
  if (decision.kind === 'challenge') {
    return {
      kind: 'respond',
      response: createResponse(request, 407, 'Proxy Authentication Required', {
        toTag: deps.toTag(),
        headers: decision.headers,
      }),
    };
  }
  const reason = decision.status === 400 ? 'Bad Request' : 'Forbidden';
  return {
    kind: 'respond',
    response: createResponse(request, decision.status, reason, { toTag: deps.toTag() }),
  };
}
