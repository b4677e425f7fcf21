import { agentTopicPrefix, DesiredStateSchema } from '@sipwall/shared';
import type { Database } from '../db/client.js';
import {
  clearMqttPassword,
  createAgent,
  deleteAgent,
  getAgent,
  renameAgent,
  setEnrollmentToken,
} from '../db/queries/agents.js';
import { appendAudit } from '../db/queries/audit.js';
import { latestConfigVersion } from '../db/queries/config-versions.js';
import { getSite } from '../db/queries/sites.js';
import { DomainError, uniqueOr } from '../errors.js';
import { hashToken, newAgentId, randomToken } from '../security/tokens.js';
import { type Access, requireAccess } from './access.js';
import { assertAgentNameFree } from './names.js';
import type { AgentProvisioner, DesiredPublisher } from './ports.js';
import { type PublishDeps, publishSites } from './publish.js';

/** What agent lifecycle operations need. */
export interface AgentDeps extends PublishDeps {
  provisioner: AgentProvisioner;
}

/** The conflict raised when a site already has an agent of that name. */
const agentNameConflict = (name: string) => ({
  constraint: 'agents_site_name_key',
  field: 'name',
  message: `an agent named "${name}" already exists in this site`,
});

/** Enrollment tokens are valid this long. */
export const ENROLLMENT_TTL_MS = 24 * 60 * 60 * 1000;

/** Loads an agent the operator may see (`not-found` otherwise). */
export async function loadAgentFor(
  db: Database,
  params: { operatorId: string; agentId: string; access: Access },
) {
  const agent = await getAgent(db, { agentId: params.agentId });
  if (!agent) throw new DomainError('not-found', 'agent not found');
  await requireAccess(db, {
    operatorId: params.operatorId,
    organizationId: agent.organizationId,
    access: params.access,
    what: 'agent',
  });
  return agent;
}

/** Creates an agent under a site and returns its one-time enrollment token (stored hashed only). */
export async function createAgentWithToken(
  db: Database,
  deps: PublishDeps,
  params: { operatorId: string; siteId: string; name: string },
) {
  const { clock } = deps;
  const site = await getSite(db, { siteId: params.siteId });
  if (!site) throw new DomainError('not-found', 'site not found');
  await requireAccess(db, {
    operatorId: params.operatorId,
    organizationId: site.organizationId,
    access: 'write',
    what: 'site',
  });
  await assertAgentNameFree(db, { siteId: site.id, name: params.name });
  const id = newAgentId();
  const enrollmentToken = randomToken();
  const expiresAt = new Date(clock().getTime() + ENROLLMENT_TTL_MS);
  await uniqueOr(
    () =>
      createAgent(db, {
        id,
        siteId: site.id,
        name: params.name,
        enrollmentTokenHash: hashToken(enrollmentToken),
        enrollmentExpiresAt: expiresAt,
      }),
    agentNameConflict(params.name),
  );
  await appendAudit(db, {
    organizationId: site.organizationId,
    operatorId: params.operatorId,
    action: 'agent.create',
    target: id,
    detail: { siteId: site.id, name: params.name },
  });
  // The site's managed state (users, config) waits for the agent as its first version.
  await publishSites(db, deps, { siteIds: [site.id], operatorId: params.operatorId, agentIds: [id] });
  const agent = await getAgent(db, { agentId: id });
  return {
    agent: agent!,
    enrollmentToken,
    enrollmentExpiresAt: expiresAt,
    topicPrefix: agentTopicPrefix(id),
  };
}

/** Re-publishes the agent's latest desired state, if it has one (after enrollment or reconnect). */
export async function republishDesired(
  db: Database,
  publisher: DesiredPublisher,
  agentId: string,
): Promise<boolean> {
  const latest = await latestConfigVersion(db, { agentId });
  if (!latest) return false;
  await publisher.publishDesired(agentId, DesiredStateSchema.parse(latest.payload));
  return true;
}

/** Renames an agent (unique per site: `conflict` on `name`). */
export async function renameAgentFor(
  db: Database,
  params: { operatorId: string; agentId: string; name: string },
) {
  const agent = await loadAgentFor(db, { ...params, access: 'write' });
  await assertAgentNameFree(db, { siteId: agent.siteId, name: params.name, agentId: agent.id });
  await uniqueOr(() => renameAgent(db, params), agentNameConflict(params.name));
  await appendAudit(db, {
    organizationId: agent.organizationId,
    operatorId: params.operatorId,
    action: 'agent.rename',
    target: agent.id,
    detail: { before: { name: agent.name }, after: { name: params.name } },
  });
  return (await getAgent(db, { agentId: agent.id }))!;
}

/** Voids the agent's broker credentials and drops its session; the row stays (re-issue to come back). */
export async function revokeAgentCredentials(db: Database, deps: AgentDeps, agentId: string): Promise<void> {
  await clearMqttPassword(db, { agentId });
  await deps.provisioner.revokeAgent(agentId);
}

/** Deletes an agent: its credentials stop working, its retained desired state is cleared. */
export async function deleteAgentFor(
  db: Database,
  deps: AgentDeps,
  params: { operatorId: string; agentId: string },
) {
  const agent = await loadAgentFor(db, { ...params, access: 'write' });
  await revokeAgentCredentials(db, deps, agent.id);
  await deleteAgent(db, { agentId: agent.id });
  await deps.publisher.clearDesired(agent.id);
  await appendAudit(db, {
    organizationId: agent.organizationId,
    operatorId: params.operatorId,
    action: 'agent.delete',
    target: agent.id,
    detail: { before: { name: agent.name, siteId: agent.siteId } },
  });
  return { ok: true as const };
}

/** Revokes an agent's MQTT credentials now; it must enroll again with a re-issued token. */
export async function revokeAgentFor(
  db: Database,
  deps: AgentDeps,
  params: { operatorId: string; agentId: string },
) {
  const agent = await loadAgentFor(db, { ...params, access: 'write' });
  await revokeAgentCredentials(db, deps, agent.id);
  await appendAudit(db, {
    organizationId: agent.organizationId,
    operatorId: params.operatorId,
    action: 'agent.revoke',
    target: agent.id,
  });
  return { ok: true as const };
}

/**
 * Re-issues an agent's credentials: the current MQTT credentials and any earlier enrollment token
 * stop working, and a new one-time token (returned once) enrolls the agent again.
 */
export async function reissueEnrollmentFor(
  db: Database,
  deps: AgentDeps,
  params: { operatorId: string; agentId: string },
) {
  const agent = await loadAgentFor(db, { ...params, access: 'write' });
  await revokeAgentCredentials(db, deps, agent.id);
  const enrollmentToken = randomToken();
  const expiresAt = new Date(deps.clock().getTime() + ENROLLMENT_TTL_MS);
  await setEnrollmentToken(db, { agentId: agent.id, tokenHash: hashToken(enrollmentToken), expiresAt });
  await appendAudit(db, {
    organizationId: agent.organizationId,
    operatorId: params.operatorId,
    action: 'agent.reissueEnrollment',
    target: agent.id,
    detail: { enrollmentExpiresAt: expiresAt.toISOString() },
  });
  return { agentId: agent.id, enrollmentToken, enrollmentExpiresAt: expiresAt };
}
