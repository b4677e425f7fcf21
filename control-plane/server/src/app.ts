import { trpcServer } from '@hono/trpc-server';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Database } from './db/client.js';
import type { EnrollDeps } from './domain/enroll.js';
import { enrollHandler } from './http/enroll.js';
import { type HealthReport, healthzHandler } from './http/healthz.js';
import { DEFAULT_DASHBOARD_DIR, dashboardHandler } from './http/static.js';
import type { Logger } from './logger.js';
import { type ApiDeps, createContext } from './trpc/context.js';
import { appRouter } from './trpc/root.js';

/** Everything the HTTP app needs; built by the composition root. */
export interface AppDeps {
  api: ApiDeps;
  enroll: EnrollDeps;
  health: () => Promise<HealthReport>;
  logger: Logger;
  /** Built dashboard directory; defaults to `control-plane/web/dist`. */
  dashboardDir?: string | undefined;
}

/** Builds the hono app (no listen): `/trpc/*`, `/healthz`, `POST /api/enroll`, dashboard. */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  const db: Database = deps.api.db;

  app.get('/healthz', healthzHandler(deps.health));
  app.post(
    '/api/enroll',
    bodyLimit({
      maxSize: 16 * 1024,
      onError: (c) => c.json({ error: 'invalid-request', message: 'body too large' }, 413),
    }),
    enrollHandler(db, deps.enroll),
  );
  app.use(
    '/trpc/*',
    trpcServer({
      router: appRouter,
      endpoint: '/trpc',
      createContext: (opts) =>
        createContext(deps.api, opts.req, opts.resHeaders) as unknown as Promise<Record<string, unknown>>,
      onError: ({ error, path }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR')
          deps.logger.error({ err: error.cause ?? error, path }, 'trpc error');
      },
    }),
  );
  app.all('/api/*', (c) => c.json({ error: 'not-found' }, 404));
  app.get('*', dashboardHandler(deps.dashboardDir ?? DEFAULT_DASHBOARD_DIR));

  app.onError((e, c) => {
    deps.logger.error({ err: e, path: c.req.path }, 'unhandled http error');
    return c.json({ error: 'internal', message: 'internal error' }, 500);
  });
  return app;
}
