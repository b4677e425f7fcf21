import { err, ok, type Result, type SipUser } from '@sipwall/shared';
import type { OfferedAlgorithm, OfferUser } from '../auth/offered-algorithms.js';
import { type CidrSet, compileCidrs } from './source-acl.js';

/** A configured SIP user, ready for authentication and registration checks. */
export interface RegistrarUser extends OfferUser {
  readonly maxBindings: number;
  /** The user's own challenge order (`users[].algorithms`), if configured. */
  readonly algorithms?: readonly OfferedAlgorithm[] | undefined;
  readonly allowFrom: CidrSet;
}

/** Users by (username, domain): what digest verification and the registrar look up. */
export interface RegistrarUsers {
  find(username: string, domain: string): RegistrarUser | undefined;
  readonly size: number;
}

/**
 * Indexes the configured users (`config.users`, pushed by the control plane). Domains compare
 * case-insensitively; usernames exactly (they enter HA1). HA1 values are kept, never logged.
 */
export function indexUsers(
  users: readonly SipUser[],
): Result<RegistrarUsers, { code: 'bad-cidr'; cidr: string }> {
  // domain (lower case) → username → user: a lookup builds no key string.
  const byDomain = new Map<string, Map<string, RegistrarUser>>();
  let size = 0;
  for (const u of users) {
    const allowFrom = compileCidrs(u.allowFrom);
    if (!allowFrom.ok) return err(allowFrom.error);
    const domain = u.domain.toLowerCase();
    let byName = byDomain.get(domain);
    if (byName === undefined) {
      byName = new Map();
      byDomain.set(domain, byName);
    }
    if (!byName.has(u.username)) size++;
    byName.set(u.username, {
      username: u.username,
      domain: u.domain,
      ha1: { md5: u.ha1.md5, sha256: u.ha1.sha256 },
      maxBindings: u.maxBindings,
      allowFrom: allowFrom.value,
      algorithms: u.algorithms,
    });
  }
  return ok({
    find: (username, domain) => (byDomain.get(domain) ?? byDomain.get(domain.toLowerCase()))?.get(username),
    size,
  });
}
