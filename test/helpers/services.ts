import { randomBytes } from 'node:crypto';
import { type ControlPlane, startControlPlane } from '@sipwall/control-plane';
import pg from 'pg';
import { pino } from 'pino';

/**
 * Which storage and broker this run uses: the embedded defaults (PGlite, aedes), or — when
 * `DATABASE_URL` and `MQTT_URL` are set, as in the CI's second run — real PostgreSQL and Mosquitto.
 */
export interface ServicesUnderTest {
  label: string;
  database: { kind: 'pglite'; dataDir: 'memory' } | { kind: 'postgres'; url: string };
  broker: { kind: 'embedded'; port: 0 } | { kind: 'external'; url: string; provisioning: 'none' };
  dispose(): Promise<void>;
}

export async function servicesUnderTest(): Promise<ServicesUnderTest> {
  const databaseUrl = process.env['DATABASE_URL'];
  const mqttUrl = process.env['MQTT_URL'];
  const broker = mqttUrl
    ? ({ kind: 'external', url: mqttUrl, provisioning: 'none' } as const)
    : ({ kind: 'embedded', port: 0 } as const);
  if (!databaseUrl) {
    return {
      label: `PGlite + ${mqttUrl ? 'Mosquitto' : 'embedded aedes'}`,
      database: { kind: 'pglite', dataDir: 'memory' },
      broker,
      dispose: async () => {},
    };
  }
  // A fresh database per test file, so runs never see each other's rows.
  const name = `sipwall_e2e_${randomBytes(6).toString('hex')}`;
  await withClient(databaseUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return {
    label: `PostgreSQL + ${mqttUrl ? 'Mosquitto' : 'embedded aedes'}`,
    database: { kind: 'postgres', url: url.toString() },
    broker,
    dispose: () => withClient(databaseUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  };
}

async function withClient(url: string, fn: (c: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await fn(client);
  } finally {
    await client.end();
  }
}

/** A quiet control plane on the services under test, on a free loopback port, with `admin` as its first operator. */
export function controlPlaneOn(
  services: ServicesUnderTest,
  admin: { email: string; password: string },
): Promise<ControlPlane> {
  return startControlPlane({
    host: '127.0.0.1',
    port: 0,
    database: services.database,
    broker: services.broker,
    admin,
    dataDir: null,
    logger: pino({ level: 'silent' }),
  });
}
