import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { AgentConfig } from '@sipwall/shared';
import type { Logger } from 'pino';
import type { AuthenticateContext } from '../auth/authenticate.js';
import type { SipRequest } from '../sip/message.js';
import type { InboundContext } from '../transport/channels.js';
import { type CallerVerdict, checkCaller } from './caller-check.js';
import { BruteForceGuard } from '../auth/brute-force.js';
import { createNonceVerifier, type NonceOptions, type RandomBytes } from '../auth/nonce.js';
import { NonceCountTracker } from '../auth/nonce-count.js';
import type { SecurityEvent } from '../auth/security-event.js';
import { type Myself, type MyselfHost, myselfFromConfig } from '../core/myself.js';
import type { RequestHandler } from '../core/request-handlers.js';
import type { SipListening, SipStack } from '../core/sip-stack.js';
import { AgentError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { Binding } from './binding.js';
import { eventsForExpired, type RegistrationEvent, registrationEvent } from './events.js';
import { type KeepAliveOptions, startKeepAlive } from './keepalive-runner.js';
import { MemoryLocationStore, startExpirySweep } from './location-store.js';
import { createPassiveRegisterHandler } from './passive-relay.js';
import { createRegisterHandler } from './register-handler.js';
import { compileRegistrarSettings, type RegistrarSettings } from './registrar-settings.js';
import { type RegistrationRow, registrationPage } from './registration-view.js';

export interface RegistrarServiceDeps {
  readonly stateDir: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly randomBytes: RandomBytes;
  /** Nonce HMAC key (≥ 16 bytes). */
  readonly nonceSecret: Uint8Array;
  readonly keepAlive: KeepAliveOptions;
  /** Resolves passive mode's upstream host (an IP literal resolves to itself). */
  readonly resolveHost: (host: string) => Promise<string>;
  readonly onRegistrationEvents: (events: readonly RegistrationEvent[]) => void;
  readonly onSecurityEvents: (events: readonly SecurityEvent[]) => void;
  /** Expiry sweep period; default 1 s. */
  readonly sweepIntervalMs?: number;
  /**
   * The host's interface addresses, for listeners on 0.0.0.0 / :: ("myself"); default: every
   * address of `os.networkInterfaces()`, read once at open.
   */
  readonly hostAddresses?: readonly string[];
}

export interface RegistrarService {
  /** Registers the REGISTER handler and starts keep-alives (call from `startSipService`'s `setup`). */
  attach(stack: SipStack): void;
  /** Applies a new config (users, policies, mode); a config that does not compile is refused and logged. */
  reconfigure(config: AgentConfig): void;
  /**
   * The agent's domains and addresses as of the current config and the bound listeners (a new
   * instance after each config change and once the listeners are bound; call it per request).
   */
  myself(): Myself;
  /** Live bindings of an AOR (main first, then learned passive ones): the proxy's location service. */
  locate(aor: string): readonly Binding[];
  /** Whether `sip:user@domain` is a configured user (the proxy answers 480 rather than 404). */
  isKnownUser(aor: string): boolean;
  /** The proxy's check of a dialog-starting request from the inside (407 per `policies.authenticate`). */
  checkCaller(request: SipRequest, context: InboundContext): CallerVerdict;
  /**
   * One page of the admin view (main bindings first, then passive; default the first 1000) and
   * how many live bindings there are in all.
   */
  registrations(page?: { readonly offset: number; readonly limit: number }): {
    readonly total: number;
    readonly rows: readonly RegistrationRow[];
  };
  counts(): { readonly main: number; readonly passive: number; readonly blockedSources: number };
  close(): Promise<void>;
}

/** How long a nonce stays fresh; after it the phone gets `stale=true` and retries silently. */
const NONCE_MAX_AGE_MS = 300_000;
const NONCE_COUNT_ENTRIES = 200_000;
const DEFAULT_VIEW_PAGE = { offset: 0, limit: 1000 } as const;

/** Every address of the host's interfaces (what a 0.0.0.0 / :: listener answers on). */
function readHostAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address));
}

function compileOrThrow(config: AgentConfig, host: MyselfHost): RegistrarSettings {
  const s = compileRegistrarSettings(config, host);
  if (!s.ok) {
    throw new AgentError(
      'AGENT_ERR_REGISTRAR_CONFIG',
      `registrar config refused: ${JSON.stringify(s.error)}`,
    );
  }
  return s.value;
}

/**
 * The registrar's composition: location stores (main bindings in `stateDir/bindings.jsonl`, learned
 * passive bindings in `stateDir/passive/`), digest auth, brute-force guard, expiry sweep, NAT
 * keep-alive, and the REGISTER handler for the current mode, rebuilt on every config change so
 * new users and policies apply without a restart.
 */
export async function openRegistrarService(
  initial: AgentConfig,
  deps: RegistrarServiceDeps,
): Promise<RegistrarService> {
  const log = deps.logger;
  const hostAddresses = deps.hostAddresses ?? readHostAddresses();
  let config = initial;
  let settings = compileOrThrow(initial, { hostAddresses });
  const onWriteError = (e: unknown) =>
    log.warn({ err: e }, 'bindings journal write failed; serving from memory until it recovers');
  const opened = await MemoryLocationStore.open(deps.clock, {
    journal: { dir: deps.stateDir, onWriteError },
  });
  const passiveOpened = await MemoryLocationStore.open(deps.clock, {
    journal: { dir: join(deps.stateDir, 'passive'), onWriteError },
  });
  const main = opened.store;
  const passive = passiveOpened.store;
  log.info({ main: opened.stats, passive: passiveOpened.stats }, 'bindings restored');

  const nonceOptions: NonceOptions = { secret: deps.nonceSecret, maxAgeMs: NONCE_MAX_AGE_MS };
  const nonces = createNonceVerifier(nonceOptions);
  const nonceCounts = new NonceCountTracker({ maxEntries: NONCE_COUNT_ENTRIES, maxAgeMs: NONCE_MAX_AGE_MS });
  const bruteForce = new BruteForceGuard(settings.bruteForce);

  const onExpired = (expired: readonly Binding[]) =>
    deps.onRegistrationEvents(eventsForExpired(expired, deps.clock.now()));
  const sweepMs = deps.sweepIntervalMs ?? 1000;
  const sweeps = [main, passive].map((store) => startExpirySweep(store, deps.clock, sweepMs, onExpired));
  let keepAlive: { stop(): void } | undefined;
  let authContext: AuthenticateContext | undefined;
  let stack: SipStack | undefined;
  let handler: RequestHandler | undefined;

  const handlerLogger = {
    warn: (o: object, m: string) => log.warn(o, m),
    debug: (o: object, m: string) => log.debug(o, m),
  };

  const build = (s: RegistrarSettings, st: SipStack): RequestHandler => {
    if (s.mode === 'passive' && s.upstream !== undefined) {
      return createPassiveRegisterHandler({
        config: s.config,
        upstream: s.upstream,
        resolveHost: deps.resolveHost,
        store: passive,
        stack: st,
        bruteForce,
        dropUserAgents: s.dropUserAgents,
        clock: deps.clock,
        upstreamDeadlineMs: s.upstreamDeadlineMs,
        onRegistrationEvents: deps.onRegistrationEvents,
        onSecurityEvents: deps.onSecurityEvents,
        logger: handlerLogger,
      });
    }
    const auth: AuthenticateContext = {
      realms: s.realms,
      findUser: (u, r) => s.users.find(u, r),
      nonces,
      nonceCounts,
      nonceOptions,
      random: deps.randomBytes,
      // Replaced per user by `offeredAlgorithms(s.algorithms, …)` in the handler.
      algorithms: s.algorithms.site,
    };
    authContext = auth;
    return createRegisterHandler({
      config: s.config,
      store: main,
      users: s.users,
      auth,
      algorithms: s.algorithms,
      bruteForce,
      dropUserAgents: s.dropUserAgents,
      clock: deps.clock,
      toTag: () => st.ids.tag(),
      onRegistrationEvents: deps.onRegistrationEvents,
      onSecurityEvents: deps.onSecurityEvents,
      drop: (tx) => st.drop(tx),
      logger: handlerLogger,
    });
  };

  // "Myself" needs the bound ports (config may say port 0): once the stack reports its listeners,
  // rebuild it and the handler (one identity check per REGISTER; the list changes once, at start).
  let boundListeners: readonly SipListening[] | undefined;
  const refreshListeners = (st: SipStack): void => {
    const listening = st.listening();
    if (listening === boundListeners || listening.length === 0) return;
    boundListeners = listening;
    const myself = myselfFromConfig(config.sip, { hostAddresses, listening });
    settings = { ...settings, config: { ...settings.config, myself } };
    handler = build(settings, st);
  };

  return {
    attach(st) {
      stack = st;
      handler = build(settings, st);
      st.handlers.register('REGISTER', (req, tx, ctx, related) => {
        refreshListeners(st);
        handler?.(req, tx, ctx, related);
      });
      keepAlive = startKeepAlive(deps.keepAlive, {
        clock: deps.clock,
        stack: st,
        stores: [main, passive],
        fromDomain: () => [...settings.realms][0] ?? 'localhost',
        onDropped: (b) => deps.onRegistrationEvents([registrationEvent(b, 'removed', deps.clock.now())]),
        logger: handlerLogger,
      });
    },
    reconfigure(nextConfig) {
      const next = compileRegistrarSettings(nextConfig, {
        hostAddresses,
        ...(boundListeners === undefined ? {} : { listening: boundListeners }),
      });
      if (!next.ok) {
        log.error({ error: next.error }, 'registrar config refused; keeping the previous one');
        return;
      }
      config = nextConfig;
      settings = next.value;
      bruteForce.setPolicy(settings.bruteForce);
      if (stack !== undefined) handler = build(settings, stack);
      log.info({ mode: settings.mode, users: settings.users.size }, 'registrar reconfigured');
    },
    myself() {
      if (stack !== undefined) refreshListeners(stack);
      return settings.config.myself ?? myselfFromConfig(config.sip, { hostAddresses });
    },
    locate(aor) {
      const found = main.lookup(aor);
      if (settings.mode !== 'passive') return found;
      const learned = passive.lookup(aor);
      return learned.length === 0 ? found : [...found, ...learned];
    },
    isKnownUser(aor) {
      const at = aor.lastIndexOf('@');
      return at > 4 && settings.users.find(aor.slice(4, at), aor.slice(at + 1)) !== undefined;
    },
    checkCaller(request, context) {
      if (stack !== undefined) refreshListeners(stack);
      const auth = authContext;
      if (auth === undefined) return { kind: 'ok', user: undefined };
      return checkCaller(request, context.source.address, {
        auth,
        algorithms: settings.algorithms,
        users: settings.users,
        myself: settings.config.myself ?? myselfFromConfig(config.sip, { hostAddresses }),
        bruteForce,
        dropUserAgents: settings.dropUserAgents,
        methods: new Set(config.policies.authenticate),
        toTag: () => stack?.ids.tag() ?? 'sw',
        onSecurityEvents: deps.onSecurityEvents,
        now: deps.clock.now(),
      });
    },
    registrations(page = DEFAULT_VIEW_PAGE) {
      const sources = [
        { bindings: main.all(), mode: 'main' as const },
        { bindings: passive.all(), mode: 'passive' as const },
      ];
      return registrationPage(sources, deps.clock.now(), page);
    },
    counts: () => ({ main: main.count(), passive: passive.count(), blockedSources: bruteForce.blockedCount }),
    async close() {
      keepAlive?.stop();
      for (const s of sweeps) s.stop();
      await Promise.allSettled([main.close(), passive.close()]);
    },
  };
}
