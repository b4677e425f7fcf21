import { randomUUID } from 'node:crypto';
import {
  decode,
  encode,
  parseAgentTopic,
  RPC_RESULT_SCHEMAS,
  type RpcMethod,
  type RpcParams,
  RpcReplySchema,
  RpcRequestSchema,
  topics,
} from '@sipwall/shared';
import type { z } from 'zod';
import type { Logger } from '../logger.js';

/** Why a live query failed; the tRPC layer maps each to one error (trpc/routers/live.ts). */
export type RpcFailure =
  /** The agents table says the agent is offline: nobody would answer, so we do not wait. */
  | 'agent-offline'
  /** No reply before the deadline (the agent went away, or is overloaded). */
  | 'timeout'
  /** The control plane is not connected to its broker. */
  | 'broker-unavailable'
  /** The agent answered with an error (`agentCode` says which). */
  | 'agent-error'
  /** The agent answered something that is not a valid result for the method. */
  | 'invalid-reply'
  /** Too many queries in flight on this control plane, or on the agent (it answered `unavailable`). */
  | 'busy';

export class RpcError extends Error {
  override readonly name = 'RpcError';
  constructor(
    readonly code: RpcFailure,
    message: string,
    /** With `agent-error`: the agent's code (`unknown-method`, `invalid-params`, …). */
    readonly agentCode?: string,
  ) {
    super(message);
  }
}

export type RpcResult<M extends RpcMethod> = z.output<(typeof RPC_RESULT_SCHEMAS)[M]>;

/** Live queries to agents over MQTT (`rpc/{method}` → `reply`), correlated by request id. */
export interface RpcClient {
  /** @throws {RpcError} */
  call<M extends RpcMethod>(agentId: string, method: M, params: RpcParams<M>): Promise<RpcResult<M>>;
  /** Feeds one message from `topics.all.reply`; the bridge routes them here. */
  handleReply(topic: string, payload: Uint8Array): void;
  /** Queries waiting for a reply (for /metrics and tests). */
  pending(): number;
  /** Fails every waiting query (shutdown). */
  close(): void;
}

export interface RpcClientDeps {
  /** Publishes a request (QoS 1, not retained); rejects when the broker is away. */
  publish(topic: string, payload: string): Promise<void>;
  /** Whether the broker connection is up right now. */
  connected(): boolean;
  /** Whether the agent is online (agents table, fed by its retained `status`). */
  isOnline(agentId: string): Promise<boolean>;
  now(): number;
  logger: Logger;
  /** Default 5 s. */
  timeoutMs?: number | undefined;
  /** Default 256. */
  maxPending?: number | undefined;
}

export const DEFAULT_RPC_TIMEOUT_MS = 5000;
const DEFAULT_MAX_PENDING = 256;
const INVALID_LOG_INTERVAL_MS = 60_000;

interface Waiter {
  readonly agentId: string;
  readonly method: RpcMethod;
  readonly resolve: (value: unknown) => void;
  readonly reject: (e: RpcError) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Works on MQTT 3.1.1 (aedes) as on 5 (Mosquitto): the reply topic and the correlation id travel in
 * the payload, not in MQTT 5 properties. One subscription (`topics.all.reply`, made by the bridge)
 * serves every query; a reply is accepted only from the agent that was asked.
 */
export function createRpcClient(deps: RpcClientDeps): RpcClient {
  const log = deps.logger.child({ component: 'rpc' });
  const timeoutMs = deps.timeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
  const maxPending = deps.maxPending ?? DEFAULT_MAX_PENDING;
  const waiting = new Map<string, Waiter>();
  let lastInvalidLogAt = Number.NEGATIVE_INFINITY;
  let invalidSinceLog = 0;

  const settle = (id: string) => {
    const w = waiting.get(id);
    if (w === undefined) return undefined;
    clearTimeout(w.timer);
    waiting.delete(id);
    return w;
  };

  return {
    async call(agentId, method, params) {
      if (!(await deps.isOnline(agentId))) throw new RpcError('agent-offline', `agent ${agentId} is offline`);
      if (!deps.connected())
        throw new RpcError('broker-unavailable', 'the control plane is not connected to its broker');
      if (waiting.size >= maxPending)
        throw new RpcError('busy', 'too many live queries in flight; retry shortly');
      const id = randomUUID();
      const deadline = new Date(deps.now() + timeoutMs).toISOString();
      const payload = encode(RpcRequestSchema, { v: 1, id, params, deadline });
      const result = new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => {
          settle(id);
          reject(new RpcError('timeout', `agent ${agentId} did not answer ${method} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(id, { agentId, method, resolve, reject, timer });
      });
      deps.publish(topics.rpc(agentId, method), payload).catch((e: Error) => {
        const w = settle(id);
        w?.reject(new RpcError('broker-unavailable', `cannot publish the request: ${e.message}`));
      });
      return (await result) as RpcResult<typeof method>;
    },

    handleReply(topic, payload) {
      const from = parseAgentTopic(topic);
      const reply = decode(RpcReplySchema, payload);
      if (from === null || from.kind !== 'reply' || !reply.ok) {
        // An agent may publish on its reply topic at will: one line a minute, not one per message.
        const now = deps.now();
        if (now - lastInvalidLogAt >= INVALID_LOG_INTERVAL_MS) {
          log.warn(
            { topic, error: reply.ok ? undefined : reply.error, dropped: invalidSinceLog + 1 },
            'invalid rpc reply dropped',
          );
          lastInvalidLogAt = now;
          invalidSinceLog = 0;
        } else invalidSinceLog++;
        return;
      }
      const w = waiting.get(reply.value.id);
      // Late (after the timeout), for another control plane instance, or a replay: nothing waits.
      if (w === undefined || w.agentId !== from.agentId) {
        log.debug({ agentId: from.agentId, id: reply.value.id }, 'rpc reply nobody waits for');
        return;
      }
      settle(reply.value.id);
      const r = reply.value;
      if (!r.ok) {
        const code = r.error.code === 'unavailable' ? 'busy' : 'agent-error';
        w.reject(new RpcError(code, r.error.message || r.error.code, r.error.code));
        return;
      }
      const result = RPC_RESULT_SCHEMAS[w.method].safeParse(r.result);
      if (!result.success) {
        log.warn({ agentId: w.agentId, method: w.method }, 'rpc result does not match its schema');
        w.reject(new RpcError('invalid-reply', `agent ${w.agentId} sent an invalid ${w.method} result`));
        return;
      }
      w.resolve(result.data);
    },

    pending: () => waiting.size,

    close() {
      for (const id of [...waiting.keys()])
        settle(id)?.reject(new RpcError('broker-unavailable', 'shutting down'));
    },
  };
}
