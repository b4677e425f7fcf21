#!/usr/bin/env node
import { resolve } from 'node:path';
import { parseEnv } from './config/env.js';
import { StartError } from './errors.js';
import { createLogger, redactUrl } from './logger.js';
import { startControlPlane } from './server.js';

// Composition root: the only place that reads process.env.
async function main(): Promise<void> {
  const parsed = parseEnv(process.env);
  if (!parsed.ok) {
    process.stderr.write(`sipwall control plane: invalid environment\n  ${parsed.problems.join('\n  ')}\n`);
    process.exit(2);
  }
  const env = parsed.env;
  const logger = createLogger(env.LOG_LEVEL);
  const dataDir = resolve(env.DATA_DIR);

  let cp: Awaited<ReturnType<typeof startControlPlane>>;
  try {
    cp = await startControlPlane({
      host: env.HOST,
      port: env.PORT,
      database: env.DATABASE_URL
        ? { kind: 'postgres', url: env.DATABASE_URL }
        : { kind: 'pglite', dataDir: resolve(dataDir, 'pglite') },
      broker: env.MQTT_URL
        ? { kind: 'external', url: env.MQTT_URL, provisioning: env.MQTT_PROVISIONING }
        : { kind: 'embedded', port: env.MQTT_PORT },
      agentMqttUrl: env.SIPWALL_AGENT_MQTT_URL,
      admin: { email: env.SIPWALL_ADMIN_EMAIL, password: env.SIPWALL_ADMIN_PASSWORD },
      dataDir,
      secureCookies: env.SIPWALL_SECURE_COOKIES,
      publicUrl: env.SIPWALL_PUBLIC_URL,
      trustedProxies: env.SIPWALL_TRUSTED_PROXIES,
      maxBodyBytes: env.SIPWALL_MAX_BODY_BYTES,
      metricsToken: env.SIPWALL_METRICS_TOKEN,
      retentionDays: env.SIPWALL_RETENTION_DAYS,
      logger,
    });
  } catch (e) {
    const code = e instanceof StartError ? e.code : 'START_FAILED';
    logger.fatal({ code, err: e }, 'control plane failed to start');
    process.stderr.write(`sipwall control plane: ${(e as Error).message}\n`);
    process.exit(1);
  }

  process.stdout.write(
    `\nsipwall control plane: dashboard at ${cp.url}  (agents connect to ${redactUrl(cp.mqttUrl)})\n`,
  );
  if (cp.bootstrap.created) {
    logger.info(
      { email: cp.bootstrap.email, file: resolve(dataDir, 'initial-admin.txt') },
      'first start: admin operator created',
    );
    // Shown once, on purpose: the first login. Also saved (mode 0600) in DATA_DIR/initial-admin.txt.
    process.stdout.write(
      `first login: ${cp.bootstrap.email} / ${cp.bootstrap.generated ? cp.bootstrap.password : '(the SIPWALL_ADMIN_PASSWORD you set)'}\n` +
        `  (saved in ${resolve(dataDir, 'initial-admin.txt')})\n\n`,
    );
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    cp.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        logger.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

void main();
