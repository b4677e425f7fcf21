import { createCallerFactory, router } from './init.js';
import { agentsRouter } from './routers/agents.js';
import { auditRouter } from './routers/audit.js';
import { authRouter } from './routers/auth.js';
import { invitationsRouter, membersRouter } from './routers/members.js';
import { liveRouter } from './routers/live.js';
import { organizationsRouter } from './routers/organizations.js';
import { overviewRouter } from './routers/overview.js';
import { rolloutsRouter } from './routers/rollouts.js';
import { sipUsersRouter } from './routers/sip-users.js';
import { sitesRouter } from './routers/sites.js';
import { statsRouter } from './routers/stats.js';

/** The whole API. The dashboard imports only its type. */
export const appRouter = router({
  auth: authRouter,
  organizations: organizationsRouter,
  sites: sitesRouter,
  agents: agentsRouter,
  sipUsers: sipUsersRouter,
  rollouts: rolloutsRouter,
  members: membersRouter,
  invitations: invitationsRouter,
  audit: auditRouter,
  live: liveRouter,
  stats: statsRouter,
  overview: overviewRouter,
});

/** Type of the API for `@trpc/client` (import with `import type`). */
export type AppRouter = typeof appRouter;

/** In-process caller (tests, scripts). */
export const createCaller = createCallerFactory(appRouter);
