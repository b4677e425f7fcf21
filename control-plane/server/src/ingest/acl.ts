import { isWithinAgentTree, TOPIC_ROOT } from '@sipwall/shared';

/** Who is connected to the embedded broker. */
export type Principal = { kind: 'service' } | { kind: 'agent'; agentId: string };

/**
 * Topic ACL of the embedded broker (pure). Agents get their own subtree only: no `#`/`+`
 * at the root, no `$share`, no `$SYS`, nothing of another agent. The control plane's own
 * service client may use the whole agents tree.
 */
export function mayAccess(principal: Principal, topicOrFilter: string): boolean {
  if (principal.kind === 'service') {
    return topicOrFilter.startsWith(`${TOPIC_ROOT}/`) || topicOrFilter.startsWith(`$share/cp/${TOPIC_ROOT}/`);
  }
  return isWithinAgentTree(principal.agentId, topicOrFilter);
}
