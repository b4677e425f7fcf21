import { performance } from 'node:perf_hooks';
import { randomBytes, randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import type { TelemetryRecord } from '@sipwall/shared';
import type { Logger } from 'pino';
import { adminExposure, readAdminToken } from './admin/access.js';
import { createAdminApp } from './admin/app.js';
import type { AgentHealth } from './admin/health.js';
import { type PageRequest, pageFromFirst } from './admin/paging.js';
import { type AdminServer, startAdminServer } from './admin/server.js';
import { EXIT } from './config/cli-args.js';
import type { LoadedConfig } from './config/load-config.js';
import { type SecurityEvent, toSecurityRecord } from './auth/security-event.js';
import { isAgentError } from './errors.js';
import { createLogger } from './log/logger.js';
import { type MediaService, startMediaService } from './media/media-service.js';
import type { MediaSessionSummary } from './media/sessions.js';
import { CallRecordJoin, DEFAULT_CALL_RECORD_JOIN } from './proxy/call-record-join.js';
import type { Call } from './proxy/calls.js';
import { createProxyService, type ProxyService } from './proxy/proxy-service.js';
import { createTransparentMode, nftCli, type TransparentMode } from './proxy/transparent.js';
import { toRegistrationRecord } from './registrar/events.js';
import { CallTrace } from './trace/call-trace.js';
import { DEFAULT_KEEPALIVE } from './registrar/keepalive-runner.js';
import { openRegistrarService, type RegistrarService } from './registrar/registrar-service.js';
import { type SipService, startSipService } from './sip-service.js';
import { DEFAULT_BACKOFF } from './sync/backoff.js';
import { type AppliedConfig, type ConfigStore, createConfigStore } from './sync/config-store.js';
import { type ControlLink, startControlLink } from './sync/control-link.js';
import { ControlLinkError } from './sync/control-link-error.js';
import { createRpcResponder } from './sync/rpc-responder.js';
import { createDesiredApplier, type DesiredApplier } from './sync/desired-applier.js';
import { readRevertRecord } from './sync/desired-store.js';
import { DEFAULT_OUTBOX, Outbox } from './sync/outbox.js';
import { restoreAppliedConfig, restoreRevertTarget } from './sync/restore-desired.js';
import { secureStateDir } from './sync/state-dir.js';
import { type Clock, createSystemClock } from './util/clock.js';
import { MemoryReclaimer } from './util/memory-reclaimer.js';
import { createRandomPool } from './util/random-pool.js';
import { AGENT_VERSION } from './version.js';

const SHUTDOWN_TIMEOUT_MS = 5000;

/** A running agent, as handed to embedders (the SIP stack subscribes to config through `config`). */
export interface RunningAgent {
  readonly config: ConfigStore;
  /** Resolves with the process exit code once the agent has stopped. */
  readonly stopped: Promise<number>;
  stop(exitCode?: number): Promise<number>;
}

/** Plain-text diagnostics for a person (the logger writes JSON to stdout). */
export type ErrorSink = (line: string) => void;

/**
 * Composition root: builds the logger, clock, config store, SIP service, control link and admin
 * API, wires SIGINT/SIGTERM to a graceful stop. The only module besides `util/clock.ts` that reads
 * the environment, wall time or timers.
 */
export async function runAgent(loaded: LoadedConfig, stderr: ErrorSink): Promise<RunningAgent> {
  const fileConfig = loaded.config;
  const logger = createLogger({ level: fileConfig.log.level });
  const clock = createSystemClock();
  const cp = fileConfig.controlPlane;

  // Before any layer reads or writes state: the directory owner-only, older files tightened.
  const stateModes = await secureStateDir(fileConfig.stateDir);
  if (stateModes.fixed.length > 0)
    logger.warn({ paths: stateModes.fixed }, 'state directory or files were open to others; now 0700/0600');
  if (stateModes.failed.length > 0)
    logger.warn({ paths: stateModes.failed }, 'cannot restrict state paths owned by another user');

  const initial: AppliedConfig =
    cp === undefined
      ? { config: fileConfig, appliedVersion: null, desired: null }
      : await restoreAppliedConfig(fileConfig, fileConfig.stateDir, logger);
  const store = createConfigStore(initial, (e) => logger.error({ err: e }, 'config listener failed'));
  store.onConfig((a) => {
    logger.level = a.config.log.level;
  });

  let admin: AdminServer | undefined;
  let sip: SipService | undefined;
  let registrar: RegistrarService | undefined;
  let proxy: ProxyService | undefined;
  let media: MediaService | undefined;
  let transparent: TransparentMode | undefined;
  let link: ControlLink | undefined;
  let applier: DesiredApplier | undefined;
  let outbox: Outbox | undefined;
  let reclaimer: MemoryReclaimer | undefined;
  let stopping: Promise<number> | undefined;
  let resolveStopped: (code: number) => void = () => {};
  const stopped = new Promise<number>((r) => {
    resolveStopped = r;
  });

  const stop = (exitCode: number = EXIT.ok): Promise<number> => {
    stopping ??= (async () => {
      logger.info({ exitCode }, 'agent stopping');
      const sipThenRegistrar = (async () => {
        proxy?.stop();
        await media?.stop();
        await transparent?.stop();
        await sip?.stop();
        await registrar?.close();
        callRecords.flush();
        await outbox?.close();
      })();
      applier?.stop();
      reclaimer?.stop();
      const steps = [link?.stop(), sipThenRegistrar, admin?.close()].map((p) =>
        Promise.resolve(p).catch((e: unknown) => logger.warn({ err: e }, 'error while stopping')),
      );
      const timeout = new Promise<void>((r) => clock.setTimeout(r, SHUTDOWN_TIMEOUT_MS));
      await Promise.race([Promise.all(steps), timeout]);
      logger.info('agent stopped');
      logger.flush?.();
      resolveStopped(exitCode);
      return exitCode;
    })();
    return stopping;
  };

  // Telemetry goes to the durable outbox, which the control link drains (none when standalone).
  const telemetry = (records: readonly TelemetryRecord[]) => outbox?.append(records);
  const callRecords = new CallRecordJoin(DEFAULT_CALL_RECORD_JOIN, clock, randomUUID, (r) => telemetry([r]));

  const onFatal = (e: unknown) => {
    const refused = e instanceof ControlLinkError && e.code === 'AGENT_ERR_ENROLL_REFUSED';
    logFatal(logger, stderr, e);
    void stop(refused ? EXIT.enrollRefused : EXIT.failure);
  };

  try {
    if (cp !== undefined)
      outbox = await Outbox.open(
        { ...DEFAULT_OUTBOX, dir: join(fileConfig.stateDir, 'outbox'), maxBytes: cp.outbox.maxBytes },
        { clock, logger: logger.child({ component: 'outbox' }) },
      );
    const health = (): AgentHealth => ({
      site: store.current().config.site,
      version: AGENT_VERSION,
      controlPlane: link === undefined ? 'standalone' : link.state(),
      appliedVersion: store.current().appliedVersion,
      sip: sip?.listening ?? [],
      desiredApplied: applier?.stats.applied ?? 0,
      desiredRejected: applier?.stats.rejected ?? 0,
      desiredReverted: applier?.stats.reverted ?? 0,
      ...(registrar === undefined ? {} : { registrar: registrar.counts() }),
      ...(proxy === undefined ? {} : { proxy: proxy.counts() }),
      ...(media === undefined ? {} : { media: media.counts() }),
      ...(outbox === undefined ? {} : { outbox: outbox.stats() }),
    });
    const adminConfig = fileConfig.admin;
    const exposure = adminExposure(adminConfig.address);
    if (exposure !== undefined) logger.warn({ address: adminConfig.address }, exposure);
    const noRows = { total: 0, rows: [] };
    // The SIP messages of the last calls, both legs, for the control plane's call ladder (bounded,
    // credentials redacted: trace/call-trace.ts).
    const trace = new CallTrace({
      clock,
      roleOf: (name) =>
        store.current().config.sip.interfaces.find((i) => i.name === name)?.role === 'outside'
          ? 'outside'
          : 'inside',
    });
    // The monitoring views, served by the admin API and answered to the control plane's live queries.
    const views = {
      registrations: (page: PageRequest) => registrar?.registrations(page) ?? noRows,
      calls: (page: PageRequest) =>
        proxy === undefined
          ? noRows
          : pageFromFirst(proxy.counts().activeCalls, proxy.calls(page.offset + page.limit), page),
      sessions: async (page: PageRequest) =>
        media === undefined
          ? noRows
          : {
              total: media.counts().activeSessions,
              rows: await media.sessions(page.limit, page.offset),
            },
      sessionsFor: async (callIds: readonly string[]) =>
        media === undefined ? [] : media.sessionsFor(callIds),
      ladder: (callId: string) => trace.get(callId),
    };
    admin = await startAdminServer(
      createAdminApp(health, views, {
        bound: () => admin ?? adminConfig,
        token: await readAdminToken(adminConfig, dirname(loaded.path)),
      }),
      adminConfig.address,
      adminConfig.port,
    );
    const registrarLog = logger.child({ component: 'registrar' });
    // Security events of the registrar and the proxy: logged (one line per blocked source, the
    // rest at debug so a storm cannot flood the log) and sent as telemetry.
    const securityEvents = (log: Logger) => (events: readonly SecurityEvent[]) => {
      for (const e of events) {
        if (e.event === 'source-blocked') log.warn({ source: e.source, detail: e.detail }, 'source blocked');
        else log.debug({ event: e.event, source: e.source, detail: e.detail }, 'security event');
      }
      telemetry(events.map((e) => toSecurityRecord(e, randomUUID())));
    };
    // Nonce randomness from a pool refilled in bulk (one randomFillSync per 64 KiB, not per challenge).
    const randomPool = createRandomPool();
    registrar = await openRegistrarService(store.current().config, {
      stateDir: fileConfig.stateDir,
      clock,
      logger: registrarLog,
      randomBytes: (n) => randomPool.bytes(n),
      // Nonce secret: fresh random bytes at every start, kept in memory only (never on disk, never
      // logged). After a restart a phone's next REGISTER carries a nonce we no longer recognise
      // (`invalid-nonce`): it gets one fresh 401, not counted as a failure, and re-authenticates.
      // That one extra round trip buys replay safety: nonce counts live in memory too, so a
      // persisted secret would let a REGISTER captured before a restart be replayed after it.
      nonceSecret: randomBytes(32),
      keepAlive: {
        ...DEFAULT_KEEPALIVE,
        intervalMs: fileConfig.sip.registrar.keepAliveIntervalSec * 1000,
        maxFailures: fileConfig.sip.registrar.keepAliveMaxFailures,
      },
      resolveHost: async (host) => (isIP(host) !== 0 ? host : (await lookup(host)).address),
      onRegistrationEvents: (events) => telemetry(events.map((e) => toRegistrationRecord(e, randomUUID()))),
      onSecurityEvents: securityEvents(registrarLog),
    });
    const reg = registrar;
    store.onConfig((a) => reg.reconfigure(a.config));
    const proxyLog = logger.child({ component: 'proxy' });
    const proxySecurityEvents = securityEvents(proxyLog);
    // One call record per call, when it ends, with its media totals folded in. Dialog records
    // (live state) are not sent: the fleet view asks for live calls over rpc instead.
    const onCallEnded = (c: Call) => {
      if (cp !== undefined) callRecords.callEnded(c);
    };
    const md = await startMediaService({
      config: store.current().config,
      clock,
      logger: logger.child({ component: 'media' }),
      // Media totals are read from the driver at each call's end only for a control plane.
      ...(cp === undefined
        ? {}
        : {
            onSessionEnded: (summary: MediaSessionSummary) => callRecords.mediaEnded(summary),
          }),
    });
    media = md;
    store.onConfig((a) => md.reconfigure(a.config));
    const px = createProxyService({
      config: () => store.current().config,
      stateDir: fileConfig.stateDir,
      clock,
      logger: proxyLog,
      registrar: reg,
      callEvents: { onStarted: () => {}, onAnswered: () => {}, onEnded: onCallEnded },
      onSecurityEvent: (e) => proxySecurityEvents([e]),
      media: md.bridge,
    });
    proxy = px;
    trace.canonicalCallId = (callId) => px.realCallId(callId);
    store.onConfig((a) => px.reconfigure(a.config));
    sip = await startSipService({
      config: store.current().config,
      logger: logger.child({ component: 'sip' }),
      clock,
      myself: () => reg.myself(),
      trace,
      setup: (stack) => {
        reg.attach(stack);
        px.attach(stack);
      },
    });
    const sipStack = sip;
    store.onConfig((a) => sipStack.reconfigure(a.config));
    // Transparent mode: the redirect targets the bound inside ports, so it comes after the listeners.
    const tm = createTransparentMode({ run: nftCli(), logger: proxyLog, hostInterfaces: networkInterfaces });
    transparent = tm;
    const bound = sip.listening;
    await tm.apply(store.current().config, bound);
    store.onConfig((a) => void tm.apply(a.config, bound));
    if (cp !== undefined) {
      applier = createDesiredApplier({
        fileConfig,
        store,
        stateDir: fileConfig.stateDir,
        agentVersion: AGENT_VERSION,
        clock,
        logger: logger.child({ component: 'sync' }),
        reverted: await readRevertRecord(fileConfig.stateDir),
        unconfirmedRevertTo: await restoreRevertTarget(fileConfig, fileConfig.stateDir, initial, logger),
      });
      link = startControlLink({
        controlPlane: cp,
        stateDir: fileConfig.stateDir,
        agentVersion: AGENT_VERSION,
        hostname: hostname(),
        applier,
        fetch: globalThis.fetch,
        clock,
        random: Math.random,
        logger: logger.child({ component: 'sync' }),
        backoff: DEFAULT_BACKOFF,
        onFatal,
        rpc: createRpcResponder({ views, clock, logger: logger.child({ component: 'rpc' }) }),
        ...(outbox === undefined ? {} : { events: outbox }),
      });
    }
  } catch (e) {
    logFatal(logger, stderr, e);
    void stop(EXIT.failure);
    return { config: store, stopped, stop };
  }

  reclaimer = startMemoryReclaimer(clock, logger);

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'signal received');
      void stop(EXIT.ok);
    });
  }

  logger.info(
    {
      site: fileConfig.site,
      config: loaded.path,
      admin: { address: admin.address, port: admin.port },
      sip: sip.listening,
      controlPlane: cp === undefined ? 'standalone' : cp.url,
      appliedVersion: store.current().appliedVersion,
      version: AGENT_VERSION,
    },
    'agent ready',
  );
  return { config: store, stopped, stop };
}

/** The {@link MemoryReclaimer} on the real heap; off (said once) when node was started without `--expose-gc`. */
function startMemoryReclaimer(clock: Clock, logger: Logger): MemoryReclaimer | undefined {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') {
    logger.info(
      'memory reclaimer off: node was started without --expose-gc (bin/sipwall-agent.js passes it)',
    );
    return undefined;
  }
  let elu = performance.eventLoopUtilization();
  const reclaimer = new MemoryReclaimer({
    clock,
    heap: () => process.memoryUsage(),
    busy: () => {
      const delta = performance.eventLoopUtilization(elu);
      elu = performance.eventLoopUtilization();
      return delta.utilization;
    },
    // A second collection compacts what the first left fragmented (one alone kept ~40 % of the
    // peak's heap reserved in bench/overload).
    gc: () => {
      gc();
      gc();
    },
    logger: logger.child({ component: 'memory' }),
  });
  reclaimer.start();
  return reclaimer;
}

function logFatal(logger: Logger, stderr: ErrorSink, e: unknown): void {
  const code = isAgentError(e) ? e.code : 'AGENT_ERR_UNEXPECTED';
  const message = e instanceof Error ? e.message : String(e);
  logger.fatal({ code, err: message }, 'agent cannot continue');
  stderr(`sipwall-agent: ${code}: ${message}`);
}
