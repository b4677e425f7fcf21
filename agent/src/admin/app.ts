import { Hono } from 'hono';
import type { HealthSource } from './health.js';
import { renderMetrics } from './metrics.js';

/** The local admin API (no listen; tests use `app.request()`). */
export function createAdminApp(health: HealthSource): Hono {
  const app = new Hono();
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
    c.body(renderMetrics(health()), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }),
  );
  return app;
}
