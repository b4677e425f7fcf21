/**
 * The media layer's composition: the pinhole driver the config asks for (the kernel's when it
 * can be used, else the user-space relay, said once), one port allocator per interface address,
 * and the session layer the proxy hands every SDP to. At start every pinhole an earlier run left
 * in the kernel is removed (after a `kill -9` nothing stays open).
 */
import type { AgentConfig } from '@sipwall/shared';
import type { Logger } from 'pino';
import { identityMedia, type MediaBridge } from '../proxy/media-bridge.js';
import type { ProxyInterface } from '../proxy/interfaces.js';
import type { Clock } from '../util/clock.js';
import { createRandomPool } from '../util/random-pool.js';
import { type NftablesDriver, probeNftables } from './drivers/nftables.js';
import { RelayPinholeDriver, type RtcpTap } from './drivers/relay.js';
import { PortAllocator } from './ports.js';
import {
  DEFAULT_MEDIA_SESSION_SETTINGS,
  type MediaSessionRow,
  MediaSessions,
  mediaCounters,
  type MediaSessionSummary,
  type RtcpPath,
} from './sessions.js';
import type { PinholeDriver, PinholeDriverKind } from './types.js';

export interface MediaServiceDeps {
  readonly config: AgentConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly onSessionEnded?: (summary: MediaSessionSummary) => void;
}

/** The media layer's gauges and counters for `/metrics`. */
export interface MediaHealth {
  readonly driver: PinholeDriverKind | 'none';
  readonly activeSessions: number;
  readonly sdpRewritten: number;
  readonly sdpRefused: number;
  readonly portsExhausted: number;
  readonly pinholesOpened: number;
  readonly pinholesClosed: number;
  readonly driverErrors: number;
}

export interface MediaService {
  readonly bridge: MediaBridge;
  readonly driver: PinholeDriverKind | 'none';
  /** Active sessions `offset` … `offset + limit − 1` with their counters and quality. */
  sessions(limit?: number, offset?: number): Promise<MediaSessionRow[]>;
  /** The active sessions of these calls (calls without anchored media have none). */
  sessionsFor(callIds: readonly string[]): Promise<MediaSessionRow[]>;
  counts(): MediaHealth;
  /**
   * Follows a config change: a new media port range applies to new allocations (pairs in use by
   * live calls stay reserved, and are released normally). The driver cannot change live (the
   * desired-state decision refuses it, and a range change under the nftables driver).
   */
  reconfigure(config: AgentConfig): void;
  /** Closes every pinhole (a stopped agent forwards no media) and releases the driver. */
  stop(): Promise<void>;
}

/** The configured driver, or the relay with one warning when the kernel path cannot be used. */
function chooseDriver(config: AgentConfig, logger: Logger, onRtcp: RtcpTap): PinholeDriver {
  const relay = () => new RelayPinholeDriver({ logger, onRtcp });
  if (config.media.driver !== 'nftables') return relay();
  const probe = probeNftables({
    portMin: config.media.portMin,
    portMax: config.media.portMax,
    addresses: config.sip.interfaces.map((i) => i.address),
    onWarning: (message) => logger.warn({ detail: message }, 'kernel media path warning'),
  });
  if (probe.ok) return probe.driver;
  logger.warn(
    { reason: probe.reason },
    'kernel media path unavailable: media goes through the user-space relay instead',
  );
  return relay();
}

/** `media.driver: none`: SDP passes unchanged, no pinholes. */
function unanchored(logger: Logger): MediaService {
  logger.warn('media not anchored (media.driver: none): SDP passes unchanged, inside addresses included');
  return {
    bridge: identityMedia,
    driver: 'none',
    sessions: async () => [],
    sessionsFor: async () => [],
    counts: () => ({ driver: 'none', activeSessions: 0, ...mediaCounters() }),
    reconfigure: () => {},
    stop: async () => {},
  };
}

export async function startMediaService(deps: MediaServiceDeps): Promise<MediaService> {
  const { config, clock, logger } = deps;
  if (config.media.driver === 'none') return unanchored(logger);
  // The RTCP tap feeds the session layer's quality trackers (bound once the layer exists).
  let tap: MediaSessions | undefined;
  const onRtcp: RtcpTap = (id, side, packet) => tap?.onRtcp(id, side, packet);
  const driver = chooseDriver(config, logger, onRtcp);
  const random = createRandomPool();
  let range = config.media;
  const allocators = new Map<string, PortAllocator>();
  const allocator = (address: string) =>
    new PortAllocator(
      {
        address,
        portMin: range.portMin,
        portMax: range.portMax,
        quarantineMs: range.portQuarantineSec * 1000,
      },
      { clock, random },
    );
  const ports = (iface: ProxyInterface): PortAllocator => {
    let a = allocators.get(iface.address);
    if (a === undefined) {
      a = allocator(iface.address);
      allocators.set(iface.address, a);
    }
    return a;
  };
  const reconfigure = (next: AgentConfig) => {
    const m = next.media;
    if (tap !== undefined && m.earlyMedia !== tap.earlyMedia) {
      tap.setEarlyMedia(m.earlyMedia);
      logger.info({ earlyMedia: m.earlyMedia }, 'media early-media policy changed for new offers');
    }
    if (
      m.portMin === range.portMin &&
      m.portMax === range.portMax &&
      m.portQuarantineSec === range.portQuarantineSec
    )
      return;
    range = m;
    for (const [address, old] of allocators)
      allocators.set(
        address,
        old.withRange({ portMin: m.portMin, portMax: m.portMax, quarantineMs: m.portQuarantineSec * 1000 }),
      );
    logger.info({ portMin: m.portMin, portMax: m.portMax }, 'media port range changed for new calls');
  };
  // Kernel RTP, user-space RTCP: the relay carries RTCP so receiver reports can be read.
  const rtcp: RtcpPath | undefined =
    driver.kind === 'nftables'
      ? {
          driver: new RelayPinholeDriver({
            logger,
            onRtcp,
          }),
          admit: (endpoints, timeoutSec) => (driver as NftablesDriver).allowUserSpace(endpoints, timeoutSec),
          revoke: (endpoints) => (driver as NftablesDriver).disallowUserSpace(endpoints),
        }
      : undefined;
  const sessions = new MediaSessions({
    driver,
    ...(rtcp === undefined ? {} : { rtcp }),
    ports,
    clock,
    logger,
    settings: { ...DEFAULT_MEDIA_SESSION_SETTINGS, earlyMedia: config.media.earlyMedia },
    ...(deps.onSessionEnded === undefined ? {} : { onSessionEnded: deps.onSessionEnded }),
  });
  tap = sessions;
  const removed = await sessions.reconcileAtStart();
  logger.info(
    {
      driver: driver.kind,
      portMin: config.media.portMin,
      portMax: config.media.portMax,
      strayPinholesRemoved: removed,
    },
    'media layer ready',
  );
  return {
    bridge: sessions,
    driver: driver.kind,
    sessions: (limit, offset) => sessions.rows(limit, offset),
    sessionsFor: (callIds) => sessions.rowsFor(callIds),
    counts: () => ({ driver: driver.kind, activeSessions: sessions.activeSessions, ...sessions.counters }),
    reconfigure,
    async stop() {
      sessions.stop();
      await driver.reconcile(new Set());
      await driver.dispose();
      await rtcp?.driver.dispose();
    },
  };
}
