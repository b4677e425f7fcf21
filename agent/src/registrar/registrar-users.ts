import { err, ok, type Result, type SipUser } from '@sipwall/shared';
import type { DigestUser } from '../auth/digest.js';
import { type CidrSet, compileCidrs } from './source-acl.js';

/** A configured SIP user, ready for authentication and registration checks. */
export interface RegistrarUser extends DigestUser {
  readonly maxBindings: number;
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
  const byKey = new Map<string, RegistrarUser>();
  for (const u of users) {
    const allowFrom = compileCidrs(u.allowFrom);
    if (!allowFrom.ok) return err(allowFrom.error);
    byKey.set(`${u.username}\u0000${u.domain.toLowerCase()}`, {
      username: u.username,
      domain: u.domain,
      ha1: { md5: u.ha1.md5, sha256: u.ha1.sha256 },
      maxBindings: u.maxBindings,
      allowFrom: allowFrom.value,
    });
  }
  return ok({
    find: (username, domain) => byKey.get(`${username}\u0000${domain.toLowerCase()}`),
    size: byKey.size,
  });
}
