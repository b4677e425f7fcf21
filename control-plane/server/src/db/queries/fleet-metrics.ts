import { sql } from 'drizzle-orm';
import type { Database } from '../client.js';
import { agents, configVersions } from '../schema/index.js';

/** Fleet-wide agent counts for `/metrics` (all tenants together: counts only, no names or ids). */
export interface FleetCounts {
  agents: number;
  online: number;
  /** Desired version ahead of the applied one (or nothing applied yet): a push not yet in force. */
  pushesPending: number;
  /** The agent's latest report rejected its desired state, or it reverted to the previous one by itself. */
  pushesFailed: number;
}

export async function fleetCounts(db: Database): Promise<FleetCounts> {
  const desired = sql`(select max(${configVersions.version}) from ${configVersions} where ${configVersions.agentId} = ${agents.id})`;
  const [row] = await db
    .select({
      agents: sql<number>`count(*)`.mapWith(Number),
      online: sql<number>`count(*) filter (where ${agents.online})`.mapWith(Number),
      pushesPending:
        sql<number>`count(*) filter (where ${desired} > coalesce(${agents.appliedVersion}, 0))`.mapWith(
          Number,
        ),
      pushesFailed:
        sql<number>`count(*) filter (where ${agents.reportedStatus} in ('rejected', 'reverted'))`.mapWith(
          Number,
        ),
    })
    .from(agents);
  return row ?? { agents: 0, online: 0, pushesPending: 0, pushesFailed: 0 };
}
