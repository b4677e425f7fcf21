import type { LadderResult, RpcMethod, RpcPageParams, RpcParams } from '@sipwall/shared';
import type { Database } from '../db/client.js';
import { DomainError, type DomainErrorCode } from '../errors.js';
import { type RpcClient, RpcError, type RpcFailure, type RpcResult } from '../ingest/rpc-client.js';
import { loadAgentFor } from './agents.js';

/** The one table from live-query failures to domain errors (and so to tRPC codes). */
const RPC_TO_DOMAIN: Record<RpcFailure, DomainErrorCode> = {
  'agent-offline': 'agent-offline',
  timeout: 'agent-timeout',
  'agent-error': 'agent-error',
  'invalid-reply': 'agent-error',
  'broker-unavailable': 'live-unavailable',
  busy: 'live-unavailable',
};

/**
 * Asks an agent the operator may read for one page of a live view. A non-member gets `not-found`
 * before anything is sent to the agent.
 * @throws {DomainError} `not-found`, `agent-offline`, `agent-timeout`, `agent-error`, `live-unavailable`
 */
export async function queryAgent<M extends Exclude<RpcMethod, 'ladder'>>(
  db: Database,
  live: RpcClient,
  params: { operatorId: string; agentId: string; method: M; page: RpcPageParams },
): Promise<RpcResult<M>> {
  const agent = await loadAgentFor(db, {
    operatorId: params.operatorId,
    agentId: params.agentId,
    access: 'read',
  });
  try {
    return await live.call(agent.id, params.method, params.page as RpcParams<M>);
  } catch (e) {
    if (e instanceof RpcError) throw new DomainError(RPC_TO_DOMAIN[e.code], e.message);
    throw e;
  }
}

/**
 * The SIP messages of one call, both legs, from the agent's per-call trace (`rpc/ladder`). A
 * non-member gets `not-found` before anything is sent to the agent.
 * @throws {DomainError} `not-found`, `agent-offline`, `agent-timeout`, `agent-error`, `live-unavailable`
 */
export async function callLadder(
  db: Database,
  live: RpcClient,
  params: { operatorId: string; agentId: string; callId: string },
): Promise<LadderResult> {
  const agent = await loadAgentFor(db, {
    operatorId: params.operatorId,
    agentId: params.agentId,
    access: 'read',
  });
  try {
    return await live.call(agent.id, 'ladder', { callId: params.callId });
  } catch (e) {
    if (e instanceof RpcError) throw new DomainError(RPC_TO_DOMAIN[e.code], e.message);
    throw e;
  }
}
