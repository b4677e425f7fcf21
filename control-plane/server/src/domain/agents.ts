import {
  type DesiredState,
  DesiredStateSchema,
  type ManagedConfig,
  type PoliciesInput,
  type SipUser,
  agentTopicPrefix,
} from '@sipwall/shared';
import type { Database } from '../db/client.js';
import { createAgent, getAgent } from '../db/queries/agents.js';
import { appendAudit } from '../db/queries/audit.js';
import { insertNextConfigVersion, latestConfigVersion } from '../db/queries/config-versions.js';
import { getSite } from '../db/queries/sites.js';
import { DomainError } from '../errors.js';
import { hashToken, newAgentId, randomToken } from '../security/tokens.js';
import { type Access, requireAccess } from './access.js';
import type { Clock, DesiredPublisher } from './ports.js';

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
  clock: Clock,
  params: { operatorId: string; siteId: string; name: string },
) {
  const site = await getSite(db, { siteId: params.siteId });
  if (!site) throw new DomainError('not-found', 'site not found');
  await requireAccess(db, {
    operatorId: params.operatorId,
    organizationId: site.organizationId,
    access: 'write',
    what: 'site',
  });
  const id = newAgentId();
  const enrollmentToken = randomToken();
  const expiresAt = new Date(clock().getTime() + ENROLLMENT_TTL_MS);
  await createAgent(db, {
    id,
    siteId: site.id,
    name: params.name,
    enrollmentTokenHash: hashToken(enrollmentToken),
    enrollmentExpiresAt: expiresAt,
  });
  await appendAudit(db, {
    organizationId: site.organizationId,
    operatorId: params.operatorId,
    action: 'agent.create',
    target: id,
    detail: { siteId: site.id, name: params.name },
  });
  const agent = await getAgent(db, { agentId: id });
  return {
    agent: agent!,
    enrollmentToken,
    enrollmentExpiresAt: expiresAt,
    topicPrefix: agentTopicPrefix(id),
  };
}

/** Stores the next immutable config version, publishes it retained, and audits the push. */
export async function pushDesiredState(
  db: Database,
  deps: { clock: Clock; publisher: DesiredPublisher },
  params: {
    operatorId: string;
    agentId: string;
    config: ManagedConfig;
    users: SipUser[];
    policies: PoliciesInput;
  },
): Promise<{ version: number }> {
  const agent = await loadAgentFor(db, {
    operatorId: params.operatorId,
    agentId: params.agentId,
    access: 'write',
  });
  let state: DesiredState | undefined;
  const insert = () =>
    insertNextConfigVersion(db, {
      agentId: agent.id,
      createdBy: params.operatorId,
      build: (version) => {
        state = DesiredStateSchema.parse({
          version,
          config: params.config,
          users: params.users,
          policies: params.policies,
          issuedAt: deps.clock().toISOString(),
        });
        return state;
      },
    });
  // Two concurrent pushes race for the same next version; the primary key lets one win, the other retries.
  let row: Awaited<ReturnType<typeof insert>> | undefined;
  for (let attempt = 1; row === undefined; attempt++) {
    try {
      row = await insert();
    } catch (e) {
      if (attempt >= 5 || !isUniqueViolation(e)) throw e;
    }
  }
  await appendAudit(db, {
    organizationId: agent.organizationId,
    operatorId: params.operatorId,
    action: 'agent.pushDesired',
    target: agent.id,
    detail: { version: row.version },
  });
  await deps.publisher.publishDesired(agent.id, state!);
  return { version: row.version };
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

/** Postgres `unique_violation` (23505), whichever driver wrapped it. */
function isUniqueViolation(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur && depth < 4; depth++) {
    if ((cur as { code?: unknown }).code === '23505') return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}
