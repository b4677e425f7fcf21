import { Hono } from 'hono';
import type { MediaSessionRow } from '../media/sessions.js';
import type { CallRow } from '../proxy/calls.js';
import type { RegistrationRow } from '../registrar/registration-view.js';
import type { HealthSource } from './health.js';
import { renderMetrics } from './metrics.js';

/** Optional views the agent's modules offer (absent while a module is not running). */
export interface AdminViews {
  /** Current bindings (main and passive), bounded. */
  readonly registrations?: () => readonly RegistrationRow[];
  /** Active calls through the proxy (early and confirmed dialogs), bounded. */
  readonly calls?: () => readonly CallRow[];
  /** Calls with anchored media: streams, addresses, ports, age and counters each way, bounded. */
  readonly sessions?: () => Promise<readonly MediaSessionRow[]>;
}

/** The local admin API (no listen; tests use `app.request()`). */
export function createAdminApp(health: HealthSource, views: AdminViews = {}): Hono {
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
  app.get('/registrations', (c) => {
    const rows = views.registrations?.() ?? [];
    return c.json({ count: rows.length, registrations: rows });
  });
  app.get('/calls', (c) => {
    const rows = views.calls?.() ?? [];
    return c.json({ count: rows.length, calls: rows });
  });
  app.get('/sessions', async (c) => {
    const rows = (await views.sessions?.()) ?? [];
    return c.json({ count: rows.length, sessions: rows });
  });
  return app;
}
