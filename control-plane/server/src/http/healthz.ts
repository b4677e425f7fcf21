import type { Context } from 'hono';

/** Health of the parts, as reported by /healthz. */
export interface HealthReport {
  database: { kind: 'pglite' | 'postgres'; ok: boolean };
  broker: { kind: 'embedded' | 'external'; connected: boolean };
}

/** `GET /healthz`: 200 when every part is up, 503 otherwise; names the database and broker in use. */
export function healthzHandler(probe: () => Promise<HealthReport>) {
  return async (c: Context) => {
    const report = await probe();
    const up = report.database.ok && report.broker.connected;
    return c.json({ status: up ? 'ok' : 'degraded', ...report }, up ? 200 : 503);
  };
}
