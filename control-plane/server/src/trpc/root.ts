import { createCallerFactory, router } from './init.js';
import { agentsRouter } from './routers/agents.js';
import { authRouter } from './routers/auth.js';
import { organizationsRouter } from './routers/organizations.js';
import { sitesRouter } from './routers/sites.js';
import { statsRouter } from './routers/stats.js';

/** The whole API. The dashboard imports only its type. */
export const appRouter = router({
  auth: authRouter,
  organizations: organizationsRouter,
  sites: sitesRouter,
  agents: agentsRouter,
  stats: statsRouter,
});

/** Type of the API for `@trpc/client` (import with `import type`). */
export type AppRouter = typeof appRouter;

/** In-process caller (tests, scripts). */
export const createCaller = createCallerFactory(appRouter);
