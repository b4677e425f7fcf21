import type { DigestAuth } from '@sipwall/shared';
import type { DigestUser } from './digest.js';

/** A digest algorithm the agent offers in challenges (RFC 7616 §3.7; SIP phones: MD5, SHA-256). */
export type OfferedAlgorithm = 'MD5' | 'SHA-256';

/** `sip.auth` compiled once per config: the site's order and each domain's own order. */
export interface AlgorithmPolicy {
  readonly site: readonly OfferedAlgorithm[];
  /** Per-domain orders by lower-cased domain. */
  readonly byDomain: ReadonlyMap<string, readonly OfferedAlgorithm[]>;
}

/** A user as far as the offer goes: its HA1s, and its own order if configured (`users[].algorithms`). */
export interface OfferUser extends DigestUser {
  readonly algorithms?: readonly OfferedAlgorithm[] | undefined;
}

/** Every algorithm, in the order used when nothing configured can be answered. */
const ALL: readonly OfferedAlgorithm[] = ['MD5', 'SHA-256'];

/** Compiles `sip.auth` (pure). */
export function compileAlgorithmPolicy(auth: DigestAuth): AlgorithmPolicy {
  return {
    site: auth.algorithms,
    byDomain: new Map(Object.entries(auth.domainAlgorithms).map(([d, list]) => [d.toLowerCase(), list])),
  };
}

function hasHa1(user: DigestUser, algorithm: OfferedAlgorithm): boolean {
  return (algorithm === 'MD5' ? user.ha1.md5 : user.ha1.sha256) !== undefined;
}

/**
 * The digest challenges to offer, in order, to `user` (or to an unknown user) of `realm`: the user's
 * own list, else the realm's domain list, else the site's; then only algorithms the user has an HA1
 * for (RFC 7616 §3.7: a challenge the user cannot answer only fails the phone, and many phones
 * answer just the first challenge). When none of them is left, the algorithms the user can answer
 * (verification accepts any algorithm the user has an HA1 for, so offering none would gain nothing).
 * An unknown user gets the realm's list unfiltered, like anyone else asking. Used for the
 * registrar's 401 and the proxy's 407. Returns a configured array when nothing is filtered out.
 *
 * @example offeredAlgorithms(settings.algorithms, users.find('alice', realm), realm) // ['MD5'] by default
 */
export function offeredAlgorithms(
  policy: AlgorithmPolicy,
  user: OfferUser | undefined,
  realm: string,
): readonly OfferedAlgorithm[] {
  const wanted =
    user?.algorithms ?? policy.byDomain.get(realm) ?? policy.byDomain.get(realm.toLowerCase()) ?? policy.site;
  if (user === undefined || wanted.every((a) => hasHa1(user, a))) return wanted;
  const usable = wanted.filter((a) => hasHa1(user, a));
  return usable.length > 0 ? usable : ALL.filter((a) => hasHa1(user, a));
}
