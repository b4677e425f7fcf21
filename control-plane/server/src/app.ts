import { getConnInfo } from '@hono/node-server/conninfo';
import { trpcServer } from '@hono/trpc-server';
import { type Context as HonoContext, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Database } from './db/client.js';
import type { EnrollDeps } from './domain/enroll.js';
import { type ClientFacts, resolveClient, TrustedProxies } from './http/client.js';
import { csrfGuard } from './http/csrf.js';
import { enrollHandler } from './http/enroll.js';
import { type HealthReport, healthzHandler } from './http/healthz.js';
import { type MetricsAccess, type MetricsSnapshot, metricsHandler } from './http/metrics.js';
import { DEFAULT_DASHBOARD_DIR, dashboardHandler } from './http/static.js';
import { trpcRefusal } from './http/trpc-error.js';
import type { Logger } from './logger.js';
import { type ApiDeps, createContext, type RequestFacts } from './trpc/context.js';
import { errorIdOf } from './trpc/error-id.js';
import { appRouter } from './trpc/root.js';

/** Default request body limit (`SIPWALL_MAX_BODY_BYTES`): far above any dashboard call. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** Calls per tRPC batch; the dashboard batches a handful. */
export const MAX_BATCH_SIZE = 50;

/** Everything the HTTP app needs; built by the composition root. */
export interface AppDeps {
  api: ApiDeps;
  enroll: EnrollDeps;
  health: () => Promise<HealthReport>;
  /** `GET /metrics`: who may scrape, and the figures. */
  metrics: MetricsAccess & { snapshot: () => Promise<MetricsSnapshot> };
  logger: Logger;
  /** Built dashboard directory; defaults to `control-plane/web/dist`. */
  dashboardDir?: string | undefined;
  /** Largest request body accepted on any route (bytes); default `DEFAULT_MAX_BODY_BYTES`. */
  maxBodyBytes?: number | undefined;
  /** Where browsers reach the dashboard (`SIPWALL_PUBLIC_URL`); null: the request's own origin. */
  publicUrl?: URL | null | undefined;
  /** Proxies whose `X-Forwarded-*` headers are believed (`SIPWALL_TRUSTED_PROXIES`); default none. */
  trustedProxies?: TrustedProxies | undefined;
}

type AppEnv = { Variables: { request: RequestFacts } };

/** The socket peer, when the app runs under @hono/node-server (absent with `app.request`). */
function peerAddress(c: HonoContext): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}

/** Builds the hono app (no listen): `/trpc/*`, `/healthz`, `/metrics`, `POST /api/enroll`, dashboard. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const db: Database = deps.api.db;
  const maxBodyBytes = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const publicUrl = deps.publicUrl ?? null;
  const trusted = deps.trustedProxies ?? new TrustedProxies([]);

  // Before anything reads a body: Content-Length over the limit is refused unread; a chunked body
  // is counted while it streams and refused as soon as it passes the limit.
  app.use(
    '*',
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: (c) => {
        const message = `request body over ${maxBodyBytes} bytes`;
        if (c.req.path.startsWith('/trpc/'))
          return trpcRefusal('PAYLOAD_TOO_LARGE', 'payload-too-large', message);
        return c.json({ error: 'payload-too-large', message }, 413);
      },
    }),
  );
  app.use('*', async (c, next) => {
    const client: ClientFacts = resolveClient(peerAddress(c), c.req.raw.headers, trusted);
    c.set('request', { ...client, secure: client.proto === 'https' || publicUrl?.protocol === 'https:' });
    await next();
  });

  app.get('/healthz', healthzHandler(deps.health));
  app.get(
    '/metrics',
    metricsHandler(deps.metrics, (c) => c.get('request'), deps.metrics.snapshot),
  );
  app.post(
    '/api/enroll',
    bodyLimit({
      maxSize: 16 * 1024,
      onError: (c) => c.json({ error: 'invalid-request', message: 'body too large' }, 413),
    }),
    enrollHandler(db, deps.enroll),
  );
  app.use('/trpc/*', csrfGuard({ publicUrl, client: (c) => c.get('request') }));
  app.use(
    '/trpc/*',
    trpcServer({
      router: appRouter,
      endpoint: '/trpc',
      maxBatchSize: MAX_BATCH_SIZE,
      createContext: (opts, c) =>
        createContext(deps.api, opts.req, opts.resHeaders, c.get('request')) as unknown as Promise<
          Record<string, unknown>
        >,
      onError: ({ error, path }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR')
          deps.logger.error({ err: error.cause ?? error, path, errorId: errorIdOf(error) }, 'trpc error');
      },
    }),
  );
  app.all('/api/*', (c) => c.json({ error: 'not-found' }, 404));
  app.get('*', dashboardHandler(deps.dashboardDir ?? DEFAULT_DASHBOARD_DIR));

  app.onError((e, c) => {
    const errorId = errorIdOf(e);
    deps.logger.error({ err: e, path: c.req.path, errorId }, 'unhandled http error');
    return c.json({ error: 'internal', message: 'internal error', errorId }, 500);
  });
  return app;
}
