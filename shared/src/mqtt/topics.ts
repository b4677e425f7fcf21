/**
 * MQTT topic tree, version 1. Every agent owns `sipwall/v1/agents/{agentId}/` and nothing else.
 * Both sides build and parse topics here; nobody concatenates topic strings by hand.
 */
export const TOPIC_ROOT = 'sipwall/v1/agents';

/**
 * `desired`, `ack` and `rpc/{method}` go CP → agent; `reported`, `status`, `events` and `reply`
 * go agent → CP. An agent may publish only the latter (see `AGENT_PUBLISH_KINDS`).
 */
export const AGENT_TOPIC_KINDS = ['desired', 'reported', 'status', 'events', 'ack', 'rpc', 'reply'] as const;
export type AgentTopicKind = (typeof AGENT_TOPIC_KINDS)[number];

/** Agent ids are lowercase identifiers, so they can never contain MQTT wildcards or separators. */
export const AGENT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{2,63}$/;

/** What an agent's own credentials may publish (in its own subtree only). */
export const AGENT_PUBLISH_KINDS: readonly AgentTopicKind[] = ['reported', 'status', 'events', 'reply'];
/** What an agent's own credentials may subscribe to (in its own subtree only). */
export const AGENT_SUBSCRIBE_KINDS: readonly AgentTopicKind[] = ['desired', 'ack', 'rpc'];

/**
 * The exact filters an agent subscribes to (and the only ones its credentials allow): `desired`,
 * `ack` and `rpc/+` of its own subtree. Agent and broker ACLs both build the list here.
 */
export function agentSubscriptionFilters(agentId: string): string[] {
  const prefix = agentTopicPrefix(agentId);
  return AGENT_SUBSCRIBE_KINDS.map((k) => (k === 'rpc' ? `${prefix}rpc/+` : `${prefix}${k}`));
}

export function isValidAgentId(id: string): boolean {
  return AGENT_ID_PATTERN.test(id);
}

export function agentTopicPrefix(agentId: string): string {
  if (!isValidAgentId(agentId)) throw new Error(`invalid agent id: ${JSON.stringify(agentId)}`);
  return `${TOPIC_ROOT}/${agentId}/`;
}

export const topics = {
  desired: (agentId: string) => `${agentTopicPrefix(agentId)}desired`,
  reported: (agentId: string) => `${agentTopicPrefix(agentId)}reported`,
  status: (agentId: string) => `${agentTopicPrefix(agentId)}status`,
  events: (agentId: string) => `${agentTopicPrefix(agentId)}events`,
  /** CP → agent: which event batches were stored (the agent trims its outbox only after this). */
  ack: (agentId: string) => `${agentTopicPrefix(agentId)}ack`,
  /** CP → agent: a live query; the agent answers on `reply` with the request's id. */
  rpc: (agentId: string, method: string) => `${agentTopicPrefix(agentId)}rpc/${method}`,
  /** Agent → CP: answers to `rpc/{method}` requests (the payload carries the request id). */
  reply: (agentId: string) => `${agentTopicPrefix(agentId)}reply`,
  /** Subscription filters for the control plane (shared subscription for events). */
  all: {
    reported: `${TOPIC_ROOT}/+/reported`,
    status: `${TOPIC_ROOT}/+/status`,
    events: `$share/cp/${TOPIC_ROOT}/+/events`,
    /** Plain (non-shared) filter for brokers without shared subscriptions (aedes). */
    eventsUnshared: `${TOPIC_ROOT}/+/events`,
    reply: `${TOPIC_ROOT}/+/reply`,
  },
} as const;

export interface ParsedAgentTopic {
  agentId: string;
  kind: AgentTopicKind;
  /** For `rpc/{method}`, the method. */
  rest?: string;
}

/** Parses a concrete topic (no wildcards) into agent id and kind; `null` if it is not ours. */
export function parseAgentTopic(topic: string): ParsedAgentTopic | null {
  if (!topic.startsWith(`${TOPIC_ROOT}/`)) return null;
  const parts = topic.slice(TOPIC_ROOT.length + 1).split('/');
  const [agentId, kind, ...rest] = parts;
  if (agentId === undefined || kind === undefined || !isValidAgentId(agentId)) return null;
  if (!(AGENT_TOPIC_KINDS as readonly string[]).includes(kind)) return null;
  if (kind === 'rpc') {
    if (rest.length !== 1 || !rest[0]) return null;
    return { agentId, kind, rest: rest[0] };
  }
  if (rest.length !== 0) return null;
  return { agentId, kind: kind as AgentTopicKind };
}

/**
 * Whether a topic or topic filter stays inside one agent's subtree. Used by broker ACLs:
 * wildcards are allowed only below the agent's own prefix (`+`/`#` never match across it).
 */
export function isWithinAgentTree(agentId: string, topicOrFilter: string): boolean {
  const prefix = agentTopicPrefix(agentId);
  if (!topicOrFilter.startsWith(prefix)) return false;
  const rest = topicOrFilter.slice(prefix.length);
  return rest.length > 0;
}
