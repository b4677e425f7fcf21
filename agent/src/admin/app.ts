import { Hono } from 'hono';
import type { MediaSessionRow } from '../media/sessions.js';
import type { CallRow } from '../proxy/calls.js';
import type { RegistrationRow } from '../registrar/registration-view.js';
import { type AdminAccess, adminGuard } from './access.js';
import type { HealthSource } from './health.js';
import { renderMetrics, renderProcessMetrics } from './metrics.js';
import { type Page, type PageRequest, pageBody, parsePage } from './paging.js';

/** Optional views the agent's modules offer (absent while a module is not running), one page at a time. */
export interface AdminViews {
  /** Current bindings (main first, then passive). */
  readonly registrations?: (page: PageRequest) => Page<RegistrationRow>;
  /** Active calls through the proxy (early and confirmed dialogs). */
  readonly calls?: (page: PageRequest) => Page<CallRow>;
  /** Calls with anchored media: streams, addresses, ports, age and counters each way. */
  readonly sessions?: (page: PageRequest) => Promise<Page<MediaSessionRow>>;
}

const EMPTY: Page<never> = { total: 0, rows: [] };
const BAD_PAGE = {
  error: 'limit must be a whole number from 1 to 10000, cursor the nextCursor of a previous page',
};

/**
 * The local admin API (no listen; tests use `app.request()`). Every route is behind
 * {@link adminGuard}: `Host` check, then the bearer token when one is configured. Listings are
 * paged with `?limit=` (default 1000, at most 10000) and `?cursor=` (the previous `nextCursor`).
 */
export function createAdminApp(health: HealthSource, views: AdminViews, access: AdminAccess): Hono {
  const app = new Hono();
  app.use('*', adminGuard(access));
  app.get('/healthz', (c) => {
    const h = health();
    return c.json({
      status: 'ok',
      site: h.site,
      version: h.version,
      controlPlane: h.controlPlane,
      appliedVersion: h.appliedVersion,
      sip: h.sip,
    });
  });
  app.get('/metrics', (c) =>
    c.body(renderMetrics(health()) + renderProcessMetrics(process.memoryUsage()), 200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    }),
  );
  app.get('/registrations', (c) => {
    const page = parsePage(c.req.query('limit'), c.req.query('cursor'));
    if (page === undefined) return c.json(BAD_PAGE, 400);
    return c.json(pageBody('registrations', views.registrations?.(page) ?? EMPTY, page));
  });
  app.get('/calls', (c) => {
    const page = parsePage(c.req.query('limit'), c.req.query('cursor'));
    if (page === undefined) return c.json(BAD_PAGE, 400);
    return c.json(pageBody('calls', views.calls?.(page) ?? EMPTY, page));
  });
  app.get('/sessions', async (c) => {
    const page = parsePage(c.req.query('limit'), c.req.query('cursor'));
    if (page === undefined) return c.json(BAD_PAGE, 400);
    return c.json(pageBody('sessions', (await views.sessions?.(page)) ?? EMPTY, page));
  });
  return app;
}
