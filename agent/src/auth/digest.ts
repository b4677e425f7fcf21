import { computeResponse, type DigestAlgorithm, parseAlgorithm } from './digest-hash.js';
import type { DigestCredentials } from './digest-params.js';
import type { NonceVerifier } from './nonce.js';
import type { NonceCountTracker } from './nonce-count.js';

/**
 * Closed set of verification outcomes.
 * - `ok`: the response is right, the nonce fresh, the nc new.
 * - `stale`: the response is right but the nonce is too old (or its nc history was forgotten):
 *   re-challenge with `stale=true` (RFC 7616 §3.3) so the phone retries without prompting.
 * - `invalid-nonce`: not a nonce we issued for this realm (forged, or issued before a restart
 *   rotated the secret): fresh challenge. Not counted as a password failure, or every phone
 *   on the site would count one after each agent restart.
 * - `foreign-nonce`: an authentic nonce, but issued to another address than the one answering it
 *   (see `issueNonce`). Either the phone's public address changed since the challenge, or the
 *   source is forged (UDP) by someone who got the nonce elsewhere. The response is not even
 *   checked, so this says nothing about the password (no guessing oracle from a second address)
 *   and is never a failure: the source gets a fresh challenge with `stale=true`, a phone retries
 *   at once, a forger never sees it.
 * - `wrong-realm`: the credentials are for a realm we do not serve.
 * - `unsupported`: algorithm, qop or `userhash` the agent does not verify, or the user has no
 *   HA1 for that algorithm.
 * - `uri-mismatch`: digest `uri` differs from the Request-URI (RFC 2617 §3.2.2.5: 400).
 * - `unknown-user` / `bad-credentials`: a password guess failed. Answer both alike (no enumeration).
 * - `replayed`: a correct response with an nc already seen for this nonce.
 */
export type DigestVerdict =
  | 'ok'
  | 'stale'
  | 'invalid-nonce'
  | 'foreign-nonce'
  | 'wrong-realm'
  | 'unsupported'
  | 'uri-mismatch'
  | 'unknown-user'
  | 'bad-credentials'
  | 'replayed';

/** What verification needs to know about a user: HA1 per hash, never a password. */
export interface DigestUser {
  readonly username: string;
  /** The user's SIP domain, which is also the digest realm. */
  readonly domain: string;
  readonly ha1: { readonly md5?: string | undefined; readonly sha256?: string | undefined };
}

export interface DigestVerifyContext {
  /** Realms we serve, exactly as configured (they enter HA1, so compared exactly). */
  readonly realms: ReadonlySet<string>;
  readonly findUser: (username: string, realm: string) => DigestUser | undefined;
  readonly nonces: NonceVerifier;
  readonly nonceCounts: NonceCountTracker;
}

export interface DigestRequest {
  readonly method: string;
  /** The Request-URI exactly as written on the request line. */
  readonly uri: string;
  /**
   * The address the request came from; a nonce issued to another address is `foreign-nonce`.
   * Absent: not checked (fixed test vectors).
   */
  readonly source?: string;
}

/** Dummy HA1s so an unknown user costs the same hashing as a known one. */
const DUMMY_HA1 = { md5: '0'.repeat(32), sha256: '0'.repeat(64) } as const;

function constantTimeEqualHex(a: string, b: string): boolean {
  // Lengths are public (they follow from the algorithm); the content is compared without an
  // early exit, over every character, so the time does not depend on where they differ.
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Which hash the user record offers for the algorithm, if any. */
function ha1For(user: DigestUser, algorithm: DigestAlgorithm): string | undefined {
  return algorithm.hash === 'md5' ? user.ha1.md5 : user.ha1.sha256;
}

/**
 * Verifies Digest credentials against the request and the user's HA1 (RFC 7616 §3.4, RFC 2617 §3.2.2).
 *
 * Decisions:
 * - qop=auth only. RFC 2069 responses (no qop) carry no nc/cnonce, so a captured REGISTER could
 *   be replayed for the whole nonce lifetime; every phone in use since ~2005 answers qop=auth
 *   when offered, and our challenges always offer it. auth-int is not offered either.
 * - The digest `uri` must equal the Request-URI as an exact string (what Kamailio and most stacks
 *   do). The client copies the Request-URI it sent, so a mismatch means a rewrite or a replay
 *   against another resource.
 * - The nonce-count is recorded only after the response verified, so forged traffic cannot
 *   fill the tracker with garbage nonces.
 */
export function verifyDigest(
  credentials: DigestCredentials,
  request: DigestRequest,
  ctx: DigestVerifyContext,
  now: number,
): DigestVerdict {
  const algorithm = parseAlgorithm(credentials.algorithm);
  if (algorithm === undefined || credentials.userhash) return 'unsupported';
  if (credentials.qop?.toLowerCase() !== 'auth') return 'unsupported';
  if (credentials.nc === undefined || credentials.nc < 1) return 'unsupported';
  if (!ctx.realms.has(credentials.realm)) return 'wrong-realm';
  if (credentials.uri !== request.uri) return 'uri-mismatch';

  const nonceState = ctx.nonces.check(credentials.realm, credentials.nonce, now);
  if (nonceState === 'invalid') return 'invalid-nonce';
  // Before any password check: a wrong answer over someone else's nonce proves nothing about this
  // source (forged UDP), and a right one must not be told apart from a wrong one here either.
  if (request.source !== undefined && ctx.nonces.issuedTo?.(credentials.nonce, request.source) === false)
    return 'foreign-nonce';

  const found = ctx.findUser(credentials.username, credentials.realm);
  const user = found !== undefined && found.domain === credentials.realm ? found : undefined;
  const ha1 = user === undefined ? undefined : ha1For(user, algorithm);
  if (user !== undefined && ha1 === undefined) return 'unsupported';

  const expected = computeResponse({
    algorithm,
    ha1: ha1 ?? DUMMY_HA1[algorithm.hash],
    nonce: credentials.nonce,
    cnonce: credentials.cnonce,
    ncText: credentials.ncText,
    qop: 'auth',
    method: request.method,
    uri: credentials.uri,
  });
  const matches = constantTimeEqualHex(expected, credentials.response);
  if (user === undefined) return 'unknown-user';
  if (!matches) return 'bad-credentials';
  if (nonceState === 'stale') return 'stale';

  const issuedAt = ctx.nonces.issuedAt(credentials.nonce);
  const nc = ctx.nonceCounts.check(credentials.nonce, credentials.nc, issuedAt);
  if (nc === 'replayed') return 'replayed';
  if (nc === 'forgotten') return 'stale';
  ctx.nonceCounts.accept(credentials.nonce, credentials.nc, issuedAt, now);
  return 'ok';
}
