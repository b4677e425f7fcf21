import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { AgentConfig } from '@sipwall/shared';
import type { Logger } from 'pino';
import type { SecurityEvent } from '../auth/security-event.js';
import type { SipListening, SipStack } from '../core/sip-stack.js';
import type { RegistrarService } from '../registrar/registrar-service.js';
import type { Clock } from '../util/clock.js';
import type { CallEvents, CallRow } from './calls.js';
import { realCallId } from './hiding.js';
import { hostSubnet, InterfaceMap } from './interfaces.js';
import type { MediaBridge } from './media-bridge.js';
import { SipProxy } from './proxy-core.js';
import { compileProxySettings } from './proxy-settings.js';
import { createDnsLookup, createResolver } from './resolve/dns-lookup.js';
import { resolveTargets } from './resolve/index.js';
import { Sealer } from './seal.js';

export interface ProxyServiceDeps {
  readonly config: () => AgentConfig;
  readonly stateDir: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registrar: Pick<RegistrarService, 'myself' | 'locate' | 'isKnownUser' | 'checkCaller'>;
  readonly callEvents?: CallEvents;
  readonly onSecurityEvent?: (e: SecurityEvent) => void;
  readonly media?: MediaBridge;
}

/** The proxy's gauges and counters for `/metrics`. */
export interface ProxyHealth {
  readonly activeCalls: number;
  readonly forwarded: number;
  readonly rejected: number;
  readonly acksForwarded: number;
  readonly statelessForwarded: number;
  readonly callsRefused: number;
}

export interface ProxyService {
  /** Registers the proxy on the stack (from `startSipService`'s `setup`). */
  attach(stack: SipStack): void;
  reconfigure(config: AgentConfig): void;
  calls(limit?: number): readonly CallRow[];
  /** A Call-ID as either leg carries it → the call's one Call-ID (sealed ones opened). */
  realCallId(callId: string): string;
  counts(): ProxyHealth;
  stop(): void;
}

const KEY_FILE = 'topology.key';

/**
 * The sealing key for topology hiding: 64 random bytes in `stateDir/topology.key` (mode 0600),
 * made on first start and kept, so contacts and routes sealed before a restart still open after
 * it (dialogs survive an agent restart). Never logged.
 */
export function loadSealingKey(stateDir: string): Buffer {
  const path = join(stateDir, KEY_FILE);
  try {
    const key = readFileSync(path);
    if (key.length === 64) return key;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  mkdirSync(stateDir, { recursive: true });
  const key = randomBytes(64);
  writeFileSync(path, key, { mode: 0o600 });
  chmodSync(path, 0o600);
  return key;
}

/**
 * The proxy's composition: settings compiled from the current config, the interface map (built
 * once the listeners are bound, again after a config change), RFC 3263 resolution over the
 * configured DNS servers, the sealer, and the registrar as location service and caller check.
 */
export function createProxyService(deps: ProxyServiceDeps): ProxyService {
  let config = deps.config();
  let settings = compileProxySettings(config);
  const sealer = new Sealer(loadSealingKey(deps.stateDir));
  const makeDns = (c: AgentConfig) =>
    createDnsLookup(createResolver({ servers: c.sip.proxy.dnsServers }), { clock: deps.clock });
  let dns = makeDns(config);
  let proxy: SipProxy | undefined;
  let stack: SipStack | undefined;
  let map: { listening: readonly SipListening[]; config: AgentConfig; value: InterfaceMap } | undefined;

  const interfaces = (): InterfaceMap => {
    const listening = stack?.listening() ?? [];
    if (map !== undefined && map.listening === listening && map.config === config) return map.value;
    const host = networkInterfaces();
    const specs = config.sip.interfaces.map((i) => {
      const subnet = hostSubnet(i.address, host);
      return {
        name: i.name,
        role: i.role,
        address: i.address,
        publicAddress: i.publicAddress,
        networks: i.networks.length > 0 ? i.networks : subnet === undefined ? [] : [subnet],
      };
    });
    map = { listening, config, value: new InterfaceMap(specs, listening) };
    return map.value;
  };

  return {
    attach(st) {
      stack = st;
      proxy = new SipProxy({
        stack: st,
        clock: deps.clock,
        logger: deps.logger,
        sealer,
        settings: () => settings,
        myself: () => deps.registrar.myself(),
        interfaces,
        locate: (aor) => deps.registrar.locate(aor),
        isKnownUser: (aor) => deps.registrar.isKnownUser(aor),
        resolve: (uri) => resolveTargets(uri, { dns, random: Math.random }),
        checkCaller: (req, ctx) => deps.registrar.checkCaller(req, ctx),
        ...(deps.media === undefined ? {} : { media: deps.media }),
        ...(deps.callEvents === undefined ? {} : { callEvents: deps.callEvents }),
        ...(deps.onSecurityEvent === undefined ? {} : { onSecurityEvent: deps.onSecurityEvent }),
      });
      proxy.attach();
    },
    reconfigure(next) {
      config = next;
      settings = compileProxySettings(next);
      dns = makeDns(next);
      proxy?.reconfigure();
    },
    calls: (limit) => proxy?.callRows(limit) ?? [],
    realCallId: (callId) => realCallId(callId, sealer),
    counts: () => {
      const c = proxy?.counters;
      return {
        activeCalls: proxy?.calls.size ?? 0,
        forwarded: c?.forwarded ?? 0,
        rejected: c?.rejected ?? 0,
        acksForwarded: c?.acksForwarded ?? 0,
        statelessForwarded: c?.statelessForwarded ?? 0,
        callsRefused: c?.callsRefused ?? 0,
      };
    },
    stop() {
      proxy?.stop();
    },
  };
}
