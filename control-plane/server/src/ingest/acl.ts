import {
  AGENT_PUBLISH_KINDS,
  type AgentTopicKind,
  agentSubscriptionFilters,
  MAX_PAYLOAD_BYTES,
  parseAgentTopic,
  TOPIC_ROOT,
} from '@sipwall/shared';

/** Who is connected to the embedded broker. */
export type Principal = { kind: 'service' } | { kind: 'agent'; agentId: string };

/** The only kinds an agent may publish retained (its last state must outlive its connection). */
export const AGENT_RETAINED_KINDS: readonly AgentTopicKind[] = ['reported', 'status'];

/** Why a publish or subscribe is refused (logged by the broker; never sent to the client). */
export type AclRefusal =
  | 'not-own-tree'
  | 'kind-not-allowed'
  | 'retain-not-allowed'
  | 'payload-too-large'
  | 'filter-not-allowed';

export interface PublishRequest {
  readonly topic: string;
  readonly retain: boolean;
  readonly payloadBytes: number;
}

/**
 * Whether a principal may publish (pure). The control plane's service client may use the whole
 * agents tree. An agent publishes only `AGENT_PUBLISH_KINDS` in its own subtree, retained only
 * `reported` and `status`, at most `MAX_PAYLOAD_BYTES` (so it can never write its own `desired`).
 */
export function decidePublish(principal: Principal, p: PublishRequest): AclRefusal | 'ok' {
  if (principal.kind === 'service') return isServiceTopic(p.topic) ? 'ok' : 'not-own-tree';
  const parsed = parseAgentTopic(p.topic);
  if (parsed === null || parsed.agentId !== principal.agentId) return 'not-own-tree';
  if (!AGENT_PUBLISH_KINDS.includes(parsed.kind)) return 'kind-not-allowed';
  if (p.retain && !AGENT_RETAINED_KINDS.includes(parsed.kind)) return 'retain-not-allowed';
  if (p.payloadBytes > MAX_PAYLOAD_BYTES) return 'payload-too-large';
  return 'ok';
}

/**
 * Whether a principal may subscribe to a topic filter (pure). An agent: exactly the filters of
 * `agentSubscriptionFilters` (`desired`, `ack`, `rpc/+` of its own subtree) or one concrete
 * `rpc/{method}`; no `#`, no other agent, no `$share`.
 */
export function decideSubscribe(principal: Principal, filter: string): AclRefusal | 'ok' {
  if (principal.kind === 'service') return isServiceTopic(filter) ? 'ok' : 'not-own-tree';
  if (agentSubscriptionFilters(principal.agentId).includes(filter)) return 'ok';
  const parsed = filter.includes('#') || filter.includes('+') ? null : parseAgentTopic(filter);
  if (parsed !== null && parsed.agentId === principal.agentId && parsed.kind === 'rpc') return 'ok';
  return 'filter-not-allowed';
}

function isServiceTopic(topicOrFilter: string): boolean {
  return topicOrFilter.startsWith(`${TOPIC_ROOT}/`) || topicOrFilter.startsWith(`$share/cp/${TOPIC_ROOT}/`);
}
