import { hash } from 'node:crypto';
import type { DigestAlgorithm } from '@sipwall/shared';
import type { Database } from '../db/client.js';
import { appendAudit } from '../db/queries/audit.js';
import {
  deleteSipUser,
  getOrganizationLayer,
  getSipUser,
  getSiteLayer,
  insertSipUser,
  type SipUserRow,
  type SipUserView,
  toSipUserView,
  updateSipUser,
} from '../db/queries/fleet-config.js';
import { DomainError, uniqueOr } from '../errors.js';
import { foreignDomainIssues, overlay } from './compile.js';
import { randomToken } from '../security/tokens.js';
import { requireAccess } from './access.js';
import { type AgentPush, type PublishDeps, writeAndPublishSite } from './publish.js';
import { loadSiteFor } from './sites.js';

/**
 * HA1 = H(username ":" realm ":" password), RFC 7616 §3.4.2, as lower-case hex; the realm is the
 * user's SIP domain (the agent challenges with realm = domain, agent/src/auth/).
 */
export function computeHa1(
  algorithm: 'md5' | 'sha256',
  username: string,
  realm: string,
  password: string,
): string {
  return hash(algorithm, `${username}:${realm}:${password}`, 'hex');
}

/** Both HA1s for a password; the password itself goes nowhere else. */
function ha1s(username: string, domain: string, password: string) {
  return {
    ha1Md5: computeHa1('md5', username, domain, password),
    ha1Sha256: computeHa1('sha256', username, domain, password),
  };
}

/** A generated SIP password: 144 random bits, base64url (phones accept these characters). */
export function generateSipPassword(): string {
  return randomToken(18);
}

/** The password the operator typed, or a generated one that is returned once. */
export type PasswordChoice = { password: string } | { generate: true };

function choose(p: PasswordChoice): { password: string; generated: string | null } {
  if ('password' in p) return { password: p.password, generated: null };
  const password = generateSipPassword();
  return { password, generated: password };
}

/** Changing a user changes its site's desired state; the result says which agents got which version. */
export interface UserChange {
  user: SipUserView;
  /** The generated password, shown once; null when the operator typed one. */
  generatedPassword: string | null;
  pushed: AgentPush[];
}

async function loadUserFor(db: Database, params: { operatorId: string; userId: string }) {
  const found = await getSipUser(db, params);
  if (!found) throw new DomainError('not-found', 'SIP user not found');
  await requireAccess(db, {
    operatorId: params.operatorId,
    organizationId: found.organizationId,
    access: 'operator',
    what: 'SIP user',
  });
  return found;
}

const audited = (u: SipUserRow) => ({
  username: u.username,
  domain: u.domain,
  displayName: u.displayName,
  enabled: u.enabled,
  algorithms: u.algorithms,
});

/** Refuses a user of a domain the site's managed config does not serve (`invalid-input` on `domain`). */
async function assertDomainServed(
  db: Database,
  site: { id: string; organizationId: string },
  user: { username: string; domain: string },
): Promise<void> {
  const [organization, own] = await Promise.all([
    getOrganizationLayer(db, { organizationId: site.organizationId }),
    getSiteLayer(db, { siteId: site.id }),
  ]);
  const { domains } = overlay(organization.config, own.config);
  const issue = foreignDomainIssues(domains, [user])[0];
  if (issue !== undefined) {
    throw new DomainError(
      'invalid-input',
      `SIP user ${user.username}@${user.domain}: domain ${issue.message}`,
      [{ path: 'domain', message: issue.message }],
    );
  }
}

/**
 * Creates a user. The domain check, the insert, its audit entry and the site's new versions are one
 * transaction under the site's row lock, so a user is never stored unaudited or unversioned, nor
 * when the site does not compile with it (`invalid-input`, the issues named).
 */
export async function createSipUserFor(
  db: Database,
  deps: PublishDeps,
  params: {
    operatorId: string;
    siteId: string;
    username: string;
    domain: string;
    displayName: string;
    enabled: boolean;
    algorithms: DigestAlgorithm[] | null;
    password: PasswordChoice;
  },
): Promise<UserChange> {
  const site = await loadSiteFor(db, { ...params, access: 'operator' });
  const domain = params.domain.toLowerCase();
  const { password, generated } = choose(params.password);
  const { result: row, pushed } = await writeAndPublishSite(
    db,
    deps,
    { siteId: site.id, operatorId: params.operatorId },
    async (tx) => {
      // Under the site lock, which site and organization config changes take too: they cannot
      // change the served domains before this commits.
      await assertDomainServed(tx, site, { username: params.username, domain });
      // The conflict is thrown out of the transaction (the failed insert aborted it): rolled back.
      const row = await uniqueOr(
        () =>
          insertSipUser(tx, {
            siteId: site.id,
            username: params.username,
            domain,
            displayName: params.displayName,
            enabled: params.enabled,
            algorithms: params.algorithms,
            ...ha1s(params.username, domain, password),
          }),
        {
          constraint: 'sip_users_site_user_key',
          field: 'username',
          message: `SIP user ${params.username}@${domain} already exists in this site`,
        },
      );
      await appendAudit(tx, {
        organizationId: site.organizationId,
        operatorId: params.operatorId,
        action: 'sipUser.create',
        target: row.id,
        detail: { siteId: site.id, after: audited(row), passwordGenerated: generated !== null },
      });
      return row;
    },
  );
  return { user: toSipUserView(row), generatedPassword: generated, pushed };
}

/**
 * Changes a user. One that is enabled after the change must belong to a domain the site serves,
 * as at creation (`invalid-input` on `domain`): a user disabled while the site stopped serving its
 * domain cannot be enabled again before the site serves it. The write, its audit entry and the
 * site's new versions are one transaction, so a change after which the site does not compile is
 * refused with nothing stored.
 */
export async function updateSipUserFor(
  db: Database,
  deps: PublishDeps,
  params: {
    operatorId: string;
    userId: string;
    displayName?: string | undefined;
    enabled?: boolean | undefined;
    algorithms?: DigestAlgorithm[] | null | undefined;
    password?: PasswordChoice | undefined;
  },
): Promise<UserChange> {
  const { user: before, organizationId } = await loadUserFor(db, params);
  const chosen = params.password ? choose(params.password) : null;
  const set: Parameters<typeof updateSipUser>[1]['set'] = {};
  if (params.displayName !== undefined) set.displayName = params.displayName;
  if (params.enabled !== undefined) set.enabled = params.enabled;
  if (params.algorithms !== undefined) set.algorithms = params.algorithms;
  if (chosen) Object.assign(set, ha1s(before.username, before.domain, chosen.password));
  const { result: after, pushed } = await writeAndPublishSite(
    db,
    deps,
    { siteId: before.siteId, operatorId: params.operatorId },
    async (tx) => {
      // Under the site lock: a config change cannot slip in between the check and the write.
      if (params.enabled ?? before.enabled)
        await assertDomainServed(tx, { id: before.siteId, organizationId }, before);
      const after = await updateSipUser(tx, { userId: before.id, set, at: deps.clock() });
      if (!after) throw new DomainError('not-found', 'SIP user not found');
      await appendAudit(tx, {
        organizationId,
        operatorId: params.operatorId,
        action: chosen ? 'sipUser.resetPassword' : 'sipUser.update',
        target: before.id,
        detail: {
          siteId: before.siteId,
          before: audited(before),
          after: audited(after),
          ...(chosen ? { passwordChanged: true, passwordGenerated: chosen.generated !== null } : {}),
        },
      });
      return after;
    },
  );
  return { user: toSipUserView(after), generatedPassword: chosen?.generated ?? null, pushed };
}

/** Deletes a user; the delete, its audit entry and the site's new versions are one transaction. */
export async function deleteSipUserFor(
  db: Database,
  deps: PublishDeps,
  params: { operatorId: string; userId: string },
): Promise<{ pushed: AgentPush[] }> {
  const { user, organizationId } = await loadUserFor(db, params);
  const { pushed } = await writeAndPublishSite(
    db,
    deps,
    { siteId: user.siteId, operatorId: params.operatorId },
    async (tx) => {
      // Under the site lock: a concurrent delete of the same user is not audited twice.
      if (!(await getSipUser(tx, { userId: user.id })))
        throw new DomainError('not-found', 'SIP user not found');
      await deleteSipUser(tx, { userId: user.id });
      await appendAudit(tx, {
        organizationId,
        operatorId: params.operatorId,
        action: 'sipUser.delete',
        target: user.id,
        detail: { siteId: user.siteId, before: audited(user) },
      });
    },
  );
  return { pushed };
}
