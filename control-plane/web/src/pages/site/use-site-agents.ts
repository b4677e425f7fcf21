import { useQuery } from '@tanstack/react-query';
import { type AgentSummary, useTRPC } from '../../trpc.js';

/** How often site views refresh. */
export const SITE_POLL_MS = 5_000;

/** The site's agents (polled), from the organization's agent list. */
export function useSiteAgents(orgId: string, siteId: string) {
  const trpc = useTRPC();
  const agents = useQuery(
    trpc.agents.list.queryOptions({ organizationId: orgId }, { refetchInterval: SITE_POLL_MS }),
  );
  const list: AgentSummary[] = (agents.data ?? []).filter((a) => a.siteId === siteId);
  return { agents: list, query: agents };
}
