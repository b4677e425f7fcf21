import { type DigestVerdict, type DigestVerifyContext, verifyDigest } from './digest.js';
import { type DigestCredentials, parseDigestCredentials, renderDigestChallenge } from './digest-params.js';
import { issueNonce, type NonceOptions, type RandomBytes } from './nonce.js';

/** Why a request did not authenticate: the digest verdicts plus the two header-level cases. */
export type AuthOutcome = Exclude<DigestVerdict, 'ok'> | 'no-credentials' | 'malformed';

/** What the request handler does next. Data only; the shell sends the response. */
export type AuthDecision =
  | { readonly kind: 'authenticated'; readonly username: string; readonly realm: string }
  | {
      readonly kind: 'challenge';
      readonly status: 401 | 407;
      readonly outcome: AuthOutcome;
      /** `[name, value]` challenge headers, strongest algorithm first (RFC 7616 §3.7). */
      readonly headers: ReadonlyArray<readonly [string, string]>;
      /** Counts toward brute-force limits (see `brute-force.ts`). */
      readonly failure: boolean;
    }
  | {
      readonly kind: 'reject';
      readonly status: 400 | 403;
      readonly outcome: AuthOutcome;
      readonly failure: boolean;
    };

type Reply =
  | { readonly kind: 'challenge'; readonly stale: boolean }
  | { readonly kind: 'reject'; readonly status: 400 | 403 };

/**
 * The one table from outcome to reply, and whether it counts as a failed password attempt.
 * A first request without credentials is the normal start of the exchange, never a failure.
 * A wrong response is answered 403 rather than another challenge: phones then back off instead
 * of looping, and an attacker gets no fresh nonce for free (Asterisk behaves the same way).
 */
const AUTH_REPLIES: Readonly<Record<AuthOutcome, { readonly reply: Reply; readonly failure: boolean }>> = {
  'no-credentials': { reply: { kind: 'challenge', stale: false }, failure: false },
  stale: { reply: { kind: 'challenge', stale: true }, failure: false },
  'invalid-nonce': { reply: { kind: 'challenge', stale: false }, failure: false },
  // Nonce sent to another address: a fresh one for this address, `stale=true` so a phone whose
  // NAT address changed retries without asking its user; never a failure (the source may be forged).
  'foreign-nonce': { reply: { kind: 'challenge', stale: true }, failure: false },
  'wrong-realm': { reply: { kind: 'challenge', stale: false }, failure: false },
  unsupported: { reply: { kind: 'challenge', stale: false }, failure: false },
  // RFC 2617 §3.2.2.5: the digest-uri must name the Request-URI's resource, else 400.
  'uri-mismatch': { reply: { kind: 'reject', status: 400 }, failure: false },
  malformed: { reply: { kind: 'reject', status: 400 }, failure: false },
  'unknown-user': { reply: { kind: 'reject', status: 403 }, failure: true },
  'bad-credentials': { reply: { kind: 'reject', status: 403 }, failure: true },
  replayed: { reply: { kind: 'reject', status: 403 }, failure: true },
};

export interface AuthenticateInput {
  readonly method: string;
  /** Request-URI exactly as on the request line. */
  readonly requestUri: string;
  /** Raw `Authorization` (registrar) or `Proxy-Authorization` (proxy) header values, in order. */
  readonly credentialHeaders: readonly string[];
  /** `true` → 407 / Proxy-Authenticate (RFC 3261 §22.3); `false` → 401 / WWW-Authenticate. */
  readonly proxy: boolean;
  /** The realm to challenge with: the domain the request addresses (one of ours). */
  readonly realm: string;
  /**
   * The address the request came from (transport source, never a header). Challenges are bound
   * to it, and credentials over a nonce sent elsewhere are `foreign-nonce` (see `digest.ts`).
   */
  readonly source: string;
}

export interface AuthenticateContext extends DigestVerifyContext {
  readonly nonceOptions: NonceOptions;
  readonly random: RandomBytes;
  /** Algorithms offered in challenges, in preference order. */
  readonly algorithms: ReadonlyArray<'SHA-256' | 'MD5'>;
}

/** Picks the credentials for one of our realms among several header values (RFC 3261 §22.4). */
function selectCredentials(
  values: readonly string[],
  realms: ReadonlySet<string>,
): DigestCredentials | 'malformed' | 'wrong-realm' | 'no-credentials' {
  let sawMalformed = false;
  let sawDigest = false;
  for (const value of values.slice(0, 8)) {
    const parsed = parseDigestCredentials(value);
    if (!parsed.ok) {
      // RFC 4475 §3.3.7: credentials in a scheme we do not know are ignored (→ a challenge).
      if (parsed.error.code !== 'not-digest') sawMalformed = true;
      continue;
    }
    sawDigest = true;
    if (realms.has(parsed.value.realm)) return parsed.value;
  }
  if (sawMalformed) return 'malformed';
  return sawDigest ? 'wrong-realm' : 'no-credentials';
}

/** Challenge headers for a fresh nonce, one per offered algorithm. */
export function buildChallenge(
  input: Pick<AuthenticateInput, 'proxy' | 'realm' | 'source'>,
  ctx: Pick<AuthenticateContext, 'nonceOptions' | 'random' | 'algorithms'> & {
    readonly nonces?: Pick<AuthenticateContext['nonces'], 'issue'>;
  },
  stale: boolean,
  now: number,
): ReadonlyArray<readonly [string, string]> {
  const name = input.proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate';
  const nonce =
    ctx.nonces?.issue?.(input.realm, now, ctx.random, input.source) ??
    issueNonce(ctx.nonceOptions, input.realm, now, ctx.random, input.source);
  return ctx.algorithms.map(
    (algorithm) => [name, renderDigestChallenge({ realm: input.realm, nonce, algorithm, stale })] as const,
  );
}

/**
 * Authenticates a request: select and parse credentials, verify them, and map the outcome
 * through {@link AUTH_REPLIES}. Pure apart from the nonce-count tracker it updates on success.
 */
export function authenticateRequest(
  input: AuthenticateInput,
  ctx: AuthenticateContext,
  now: number,
): AuthDecision {
  const selected = selectCredentials(input.credentialHeaders, ctx.realms);
  const verdict =
    typeof selected === 'string'
      ? selected
      : verifyDigest(
          selected,
          { method: input.method, uri: input.requestUri, source: input.source },
          ctx,
          now,
        );
  if (verdict === 'ok') {
    const c = selected as DigestCredentials;
    return { kind: 'authenticated', username: c.username, realm: c.realm };
  }
  const { reply, failure } = AUTH_REPLIES[verdict];
  if (reply.kind === 'reject') return { kind: 'reject', status: reply.status, outcome: verdict, failure };
  return {
    kind: 'challenge',
    status: input.proxy ? 407 : 401,
    outcome: verdict,
    headers: buildChallenge(input, ctx, reply.stale, now),
    failure,
  };
}
