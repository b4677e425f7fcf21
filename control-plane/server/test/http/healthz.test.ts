import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StartError } from '../../src/errors.js';
import { silentLogger } from '../../src/logger.js';
import { startControlPlane } from '../../src/server.js';
import { startTestControlPlane, type TestControlPlane } from '../helpers/control-plane.js';

describe('/healthz and start-up', () => {
  let cp: TestControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane({ dashboardDir: '/nonexistent-sipwall-dashboard' });
  });
  afterAll(async () => {
    await cp?.close();
  });

  it('reports the embedded defaults', async () => {
    const resp = await fetch(`${cp.url}/healthz`);
    expect(resp.status).toBe(200);
    const kind = cp.testDb.kind;
    expect(await resp.json()).toEqual({
      status: 'ok',
      database: { kind, ok: true },
      broker: { kind: 'embedded', connected: true },
    });
  });

  it('reports real ports for port 0', () => {
    expect(cp.url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    expect(cp.mqttUrl).toMatch(/^mqtt:\/\/127\.0\.0\.1:[1-9]\d*$/);
  });

  it('says the dashboard is not built when its directory is missing', async () => {
    const resp = await fetch(`${cp.url}/`);
    expect(resp.status).toBe(200);
    expect(await resp.text()).toMatch(/not built/);
  });

  it('rejects with MQTT_PORT_IN_USE when the MQTT port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const err = await startControlPlane({
        host: '127.0.0.1',
        port: 0,
        database: { kind: 'pglite', dataDir: 'memory' },
        broker: { kind: 'embedded', port },
        admin: { email: 'a@b.test', password: 'whatever-password' },
        dataDir: null,
        logger: silentLogger(),
      }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StartError);
      expect((err as StartError).code).toBe('MQTT_PORT_IN_USE');
      expect((err as StartError).message).toContain(String(port));
      expect((err as StartError).message).toContain('MQTT_URL');
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('answers 503 when the broker connection is down (runs last: it closes the bridge)', async () => {
    await cp.bridge.close();
    const resp = await fetch(`${cp.url}/healthz`);
    expect(resp.status).toBe(503);
    expect(await resp.json()).toMatchObject({
      status: 'degraded',
      broker: { kind: 'embedded', connected: false },
    });
  });
});
