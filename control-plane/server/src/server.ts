import { DesiredStateSchema, encode, topics } from '@sipwall/shared';
import { mkdirSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { createApp } from './app.js';
import { type DatabaseHandle, type DatabaseTarget, openDatabase } from './db/client.js';
import { getAgent, getMqttPasswordHash } from './db/queries/agents.js';
import { fleetCounts } from './db/queries/fleet-metrics.js';
import { type BootstrapResult, ensureAdmin } from './domain/bootstrap.js';
import { advanceRollouts } from './domain/rollouts.js';
import type { AgentProvisioner, Clock, DesiredPublisher } from './domain/ports.js';
import { StartError } from './errors.js';
import { startRetention } from './domain/retention.js';
import { type Bridge, startBridge } from './ingest/bridge.js';
import type { EventIngestOptions } from './ingest/event-ingest.js';
import { DynsecClient, dynsecProvisioner, noopProvisioner } from './ingest/dynsec.js';
import { type EmbeddedBroker, startEmbeddedBroker } from './ingest/embedded-broker.js';
import { OutboxGauge, type OutboxReport } from './ingest/outbox-gauge.js';
import { createRpcClient, type RpcClient } from './ingest/rpc-client.js';
import { TrustedProxies } from './http/client.js';
import { type Logger, redactUrl } from './logger.js';
import { SignInThrottle, type SignInThrottleOptions } from './security/sign-in-throttle.js';
import type { ApiDeps } from './trpc/context.js';

/** Everything `startControlPlane` needs; main.ts builds it from the environment. */
export interface ControlPlaneOptions {
  host: string;
  /** HTTP port; 0 picks a free one. */
  port: number;
  database: DatabaseTarget;
  /** `external`: connect to MQTT_URL; `embedded`: run aedes on `mqttPort` (0 picks a free one). */
  broker:
    | { kind: 'embedded'; port: number }
    | { kind: 'external'; url: string; provisioning: 'dynsec' | 'none' };
  /** Broker URL handed to agents at enrollment (overrides the derived one). */
  agentMqttUrl?: string | undefined;
  admin: { email: string; password?: string | undefined };
  /** Where `initial-admin.txt` goes on first start; null: nowhere (tests). */
  dataDir: string | null;
  dashboardDir?: string | undefined;
  /** Always mark the session cookie `Secure` (`SIPWALL_SECURE_COOKIES`); it is also set per request over HTTPS. */
  secureCookies?: boolean;
  /** Where browsers reach the dashboard (`SIPWALL_PUBLIC_URL`): the only accepted `Origin` of mutations. */
  publicUrl?: string | undefined;
  /** Proxies whose `X-Forwarded-For/-Proto/-Host` are believed (`SIPWALL_TRUSTED_PROXIES`). */
  trustedProxies?: readonly string[] | undefined;
  /** Largest request body on any route, bytes (`SIPWALL_MAX_BODY_BYTES`, default 1 MiB). */
  maxBodyBytes?: number | undefined;
  /** Bearer token for `GET /metrics` (`SIPWALL_METRICS_TOKEN`); without it only loopback clients may scrape. */
  metricsToken?: string | undefined;
  /** How long a live query waits for the agent's reply (default 5 s). */
  rpcTimeoutMs?: number | undefined;
  /** Sign-in throttle limits (defaults in security/sign-in-throttle.ts). */
  signInThrottle?: Partial<SignInThrottleOptions> | undefined;
  /** Days raw telemetry is kept (`SIPWALL_RETENTION_DAYS`, default 90); roll-ups stay. */
  retentionDays?: number | undefined;
  /** Telemetry ingest tuning (tests). */
  events?: Partial<EventIngestOptions> | undefined;
  logger: Logger;
  clock?: Clock;
  /** How often canary rollouts are re-checked besides on every `reported` (ms, default 10 000). */
  rolloutCheckMs?: number | undefined;
}

/** A running control plane. */
export interface ControlPlane {
  /** Dashboard / API base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Broker URL agents use (no credentials). */
  mqttUrl: string;
  /** Set when this start created the first admin. */
  bootstrap: BootstrapResult;
  /** Internals for in-process tests and tools. */
  database: DatabaseHandle;
  api: ApiDeps;
  bridge: Bridge;
  rpc: RpcClient;
  stop(): Promise<void>;
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Address to dial for a listener bound to `host` (wildcards → loopback). */
function dialHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/** Splits an MQTT URL into a credential-free URL and its credentials. */
function splitCredentials(url: string) {
  const u = new URL(url);
  const username = u.username ? decodeURIComponent(u.username) : undefined;
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  u.username = '';
  u.password = '';
  return { url: u.toString().replace(/\/$/, ''), username, password };
}

/**
 * Starts database (with migrations), broker or broker connection, MQTT bridge and HTTP server.
 * Port 0 works for both HTTP and the embedded broker; the returned URLs carry the real ports.
 * Rejects with a `StartError` (stable `code`) when a part cannot start; started parts are stopped.
 */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const { logger } = opts;
  const clock = opts.clock ?? (() => new Date());
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse())
      await fn().catch((e: unknown) => logger.warn({ err: e }, 'stop step failed'));
    cleanups.length = 0;
  };
  try {
    // The embedded broker listens first, so a taken MQTT port fails fast; auth waits for the database.
    let broker: EmbeddedBroker | null = null;
    let resolveDb!: (db: DatabaseHandle) => void;
    const dbReady = new Promise<DatabaseHandle>((r) => {
      resolveDb = r;
    });
    if (opts.broker.kind === 'embedded') {
      broker = await startEmbeddedBroker({
        host: opts.host,
        port: opts.broker.port,
        lookupPasswordHash: async (agentId) => getMqttPasswordHash((await dbReady).db, { agentId }),
        logger,
      });
      const b = broker;
      cleanups.push(() => b.close());
    }
    const database = await openDatabase(opts.database).catch((e: unknown) => {
      throw new StartError('DATABASE_UNAVAILABLE', `cannot open database: ${(e as Error).message}`, {
        cause: e,
      });
    });
    cleanups.push(() => database.close());
    resolveDb(database);
    const bootstrap = await ensureAdmin(database.db, opts.admin);
    if (bootstrap.created && bootstrap.generated && opts.dataDir !== null) {
      mkdirSync(opts.dataDir, { recursive: true });
      const file = join(opts.dataDir, 'initial-admin.txt');
      writeFileSync(file, `email: ${bootstrap.email}\npassword: ${bootstrap.password}\n`, { mode: 0o600 });
    }

    // Rollouts advance when a `reported` arrives and on a periodic check; wired once the API exists.
    let advance: (agentId?: string) => Promise<void> = async () => {};
    // Live queries use the bridge's connection; replies arrive through its one `reply` subscription.
    let bridge: Bridge | undefined;
    const outbox = new OutboxGauge();
    const rpc = createRpcClient({
      publish: async (topic, payload) => {
        await bridge?.client.publishAsync(topic, payload, { qos: 1, retain: false });
      },
      connected: () => bridge?.connected() ?? false,
      isOnline: async (agentId) => (await getAgent(database.db, { agentId }))?.online ?? false,
      now: () => clock().getTime(),
      logger,
      timeoutMs: opts.rpcTimeoutMs,
    });
    cleanups.push(async () => rpc.close());
    const bridgeDeps = {
      clock,
      logger,
      // One check per batch of reports: a canary rollout advances once its agents all applied.
      onReported: (agentIds: readonly string[]) =>
        advance(agentIds.length === 1 ? agentIds[0] : undefined).catch((e: unknown) =>
          logger.error({ err: e }, 'rollout check failed'),
        ),
      onReply: (topic: string, payload: Uint8Array) => rpc.handleReply(topic, payload),
      observe: { outbox: (agentId: string, o: OutboxReport) => outbox.record(agentId, o, clock().getTime()) },
    };
    // PGlite has one connection: one writer; Postgres takes several transactions at once.
    const events: Partial<EventIngestOptions> = { writers: database.kind === 'pglite' ? 1 : 4 };
    let provisioner: AgentProvisioner = noopProvisioner;
    let publisher: DesiredPublisher | undefined;
    let agentMqttUrl: string;
    const brokerOpt = opts.broker;
    if (brokerOpt.kind === 'embedded') {
      const eb = broker!;
      // Auth reads the database, so a deleted hash is already refused; revoking drops the session.
      provisioner = { provisionAgent: async () => {}, revokeAgent: async (id) => eb.disconnect(id) };
      agentMqttUrl = `mqtt://${urlHost(opts.host)}:${eb.port}`;
      bridge = await startBridge(database.db, bridgeDeps, {
        url: `mqtt://${urlHost(dialHost(opts.host))}:${eb.port}`,
        username: eb.service.username,
        password: eb.service.password,
        protocolVersion: 4,
        sharedSubscriptions: false, // aedes v1 has no `$share`; one control plane per embedded broker anyway
        events: { ...events, ...opts.events },
      });
      // Desired states go into the broker in-process (same payloads, same retained topics).
      publisher = {
        publishDesired: (agentId, state) =>
          eb.publishRetained(topics.desired(agentId), encode(DesiredStateSchema, state)),
        clearDesired: (agentId) => eb.publishRetained(topics.desired(agentId), ''),
      };
    } else {
      const ext = splitCredentials(brokerOpt.url);
      agentMqttUrl = ext.url;
      let dynsec: DynsecClient | null = null;
      const provisioning = brokerOpt.provisioning;
      bridge = await startBridge(database.db, bridgeDeps, {
        url: ext.url,
        username: ext.username,
        password: ext.password,
        protocolVersion: 5,
        sharedSubscriptions: true,
        beforeSubscribe:
          provisioning === 'dynsec'
            ? async (client) => {
                dynsec ??= new DynsecClient(client, logger);
                await dynsec.attach();
                return ext.username ? dynsec.grantControlPlane(ext.username) : 'ok';
              }
            : undefined,
        events: { ...events, ...opts.events },
      });
      if (dynsec) provisioner = dynsecProvisioner(dynsec);
    }
    const br = bridge;
    cleanups.push(() => br.close());
    publisher ??= bridge;
    const stopRetention = startRetention(database.db, { clock, logger }, opts.retentionDays ?? 90);
    cleanups.push(async () => stopRetention());
    agentMqttUrl = opts.agentMqttUrl ?? agentMqttUrl;

    const api: ApiDeps = {
      db: database.db,
      clock,
      publisher,
      provisioner,
      secureCookies: opts.secureCookies ?? false,
      signInThrottle: new SignInThrottle(() => clock().getTime(), opts.signInThrottle),
      live: rpc,
      logger,
    };
    advance = (agentId) => advanceRollouts(database.db, api, agentId === undefined ? {} : { agentId });
    const rolloutTimer = setInterval(() => {
      advance().catch((e: unknown) => logger.error({ err: e }, 'rollout check failed'));
    }, opts.rolloutCheckMs ?? 10_000);
    rolloutTimer.unref();
    cleanups.push(async () => clearInterval(rolloutTimer));
    const app = createApp({
      api,
      enroll: { clock, provisioner, publisher, agentMqttUrl },
      health: async () => ({
        database: { kind: database.kind, ok: await database.ping() },
        broker: { kind: opts.broker.kind, connected: br.connected() },
      }),
      metrics: {
        token: opts.metricsToken,
        snapshot: async () => ({
          fleet: await fleetCounts(database.db),
          ingest: br.stats(),
          outbox: outbox.totals(clock().getTime()),
          broker: { connected: br.connected() },
          rpc: { pending: rpc.pending() },
        }),
      },
      logger,
      dashboardDir: opts.dashboardDir,
      maxBodyBytes: opts.maxBodyBytes,
      publicUrl: opts.publicUrl === undefined ? null : new URL(opts.publicUrl),
      trustedProxies: new TrustedProxies(opts.trustedProxies ?? []),
    });

    const server = serve({ fetch: app.fetch, port: opts.port, hostname: opts.host });
    try {
      await Promise.race([
        once(server, 'listening'),
        once(server, 'error').then(([e]) => {
          throw e;
        }),
      ]);
    } catch (e) {
      server.close();
      if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new StartError(
          'HTTP_PORT_IN_USE',
          `HTTP port ${opts.host}:${opts.port} is already in use; set PORT`,
          {
            cause: e,
          },
        );
      }
      throw e;
    }
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        }),
    );
    const port = (server.address() as AddressInfo).port;
    const url = `http://${urlHost(opts.host)}:${port}`;
    logger.info(
      { url, database: database.kind, broker: opts.broker.kind, mqttUrl: redactUrl(agentMqttUrl) },
      'control plane started',
    );
    let stopping: Promise<void> | null = null;
    return {
      url,
      mqttUrl: agentMqttUrl,
      bootstrap,
      database,
      api,
      bridge,
      rpc,
      stop: () => {
        stopping ??= cleanup();
        return stopping;
      },
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
