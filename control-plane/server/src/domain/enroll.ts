import { agentTopicPrefix, type EnrollRequest, type EnrollResponse } from '@sipwall/shared';
import type { Database } from '../db/client.js';
import {
  consumeEnrollmentToken,
  findEnrollmentToken,
  releaseEnrollmentToken,
  setMqttPasswordHash,
} from '../db/queries/agents.js';
import { appendAudit } from '../db/queries/audit.js';
import { hashMachineSecret, hashToken, randomToken } from '../security/tokens.js';
import { republishDesired } from './agents.js';
import type { AgentProvisioner, Clock, DesiredPublisher } from './ports.js';

/** Why an enrollment was refused; the wire names of `EnrollErrorSchema`. */
export type EnrollFailure = 'invalid-token' | 'token-used' | 'token-expired';

export type EnrollOutcome = { ok: true; response: EnrollResponse } | { ok: false; error: EnrollFailure };

export interface EnrollDeps {
  clock: Clock;
  provisioner: AgentProvisioner;
  publisher: DesiredPublisher;
  /** The broker URL agents should use (no credentials). */
  agentMqttUrl: string;
}

/** Trades a one-time enrollment token for per-agent MQTT credentials. */
export async function enrollAgent(
  db: Database,
  deps: EnrollDeps,
  request: EnrollRequest,
): Promise<EnrollOutcome> {
  const tokenHash = hashToken(request.token);
  const now = deps.clock();
  const agentId = await consumeEnrollmentToken(db, {
    tokenHash,
    now,
    agentVersion: request.agentVersion,
    hostname: request.hostname ?? null,
  });
  if (agentId === null) {
    const token = await findEnrollmentToken(db, { tokenHash });
    if (!token) return { ok: false, error: 'invalid-token' };
    if (token.usedAt !== null) return { ok: false, error: 'token-used' };
    return { ok: false, error: 'token-expired' };
  }
  const password = randomToken(24);
  try {
    await setMqttPasswordHash(db, { agentId, hash: hashMachineSecret(password) });
    await deps.provisioner.provisionAgent(agentId, password);
  } catch (e) {
    // The agent never got credentials: give the token back so a retry can succeed.
    await releaseEnrollmentToken(db, { agentId });
    throw e;
  }
  await appendAudit(db, {
    organizationId: null,
    operatorId: null,
    action: 'agent.enroll',
    target: agentId,
    detail: { agentVersion: request.agentVersion, hostname: request.hostname ?? null },
  });
  await republishDesired(db, deps.publisher, agentId);
  return {
    ok: true,
    response: {
      agentId,
      mqtt: { url: deps.agentMqttUrl, clientId: agentId, username: agentId, password },
      topicPrefix: agentTopicPrefix(agentId),
    },
  };
}
