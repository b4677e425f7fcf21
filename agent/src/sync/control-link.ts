import {
  AgentStatusSchema,
  agentSubscriptionFilters,
  type ControlPlaneLinkSchema,
  encode,
  ReportedStateSchema,
  type ReportedState,
  topics,
} from '@sipwall/shared';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Clock, TimerHandle } from '../util/clock.js';
import { type BackoffOptions, backoffDelay } from './backoff.js';
import type { Credentials } from './credentials-store.js';
import type { DesiredApplier } from './desired-applier.js';
import { obtainCredentials } from './obtain-credentials.js';
import type { RpcResponder } from './rpc-responder.js';
import type { OutboxLink } from './outbox.js';

/** The side of the telemetry outbox the link drives: it publishes while connected, trims on `ack`. */
export interface EventsPort {
  connected(link: OutboxLink): void;
  disconnected(): void;
  acked(payload: Uint8Array): void;
}

export interface ControlLinkDeps {
  controlPlane: z.output<typeof ControlPlaneLinkSchema>;
  stateDir: string;
  agentVersion: string;
  hostname: string;
  applier: DesiredApplier;
  fetch: typeof globalThis.fetch;
  clock: Clock;
  random: () => number;
  logger: Logger;
  backoff: BackoffOptions;
  /** Called once with an error the link cannot recover from (refused token, bad credentials file). */
  onFatal: (error: unknown) => void;
  /** Answers live queries on `rpc/+` (replies go to `reply`); absent: not subscribed. */
  rpc?: RpcResponder | undefined;
  /** The telemetry outbox: told when `events` may be published and handed every `ack`. */
  events?: EventsPort;
}

export interface ControlLink {
  /** `connected` while an MQTT session is up. */
  state(): 'connected' | 'disconnected';
  /** Publishes `status` offline, disconnects cleanly and stops reconnecting. Bounded in time. */
  stop(): Promise<void>;
}

/** MQTT CONNACK codes meaning "speak an older protocol": 3.1.1 `1`, MQTT 5 `132`. */
const UNSUPPORTED_PROTOCOL = new Set([1, 132]);
const STOP_PUBLISH_TIMEOUT_MS = 2000;

const statusPayload = (state: 'online' | 'offline') => encode(AgentStatusSchema, { state });

/**
 * Runs the agent's side of the MQTT contract: enroll if needed, connect with a retained `offline`
 * last will, announce `online`, follow `desired` and report what runs. Reconnects with capped
 * exponential backoff; the agent keeps serving on its last good config meanwhile.
 */
export function startControlLink(deps: ControlLinkDeps): ControlLink {
  const log = deps.logger;
  const abort = new AbortController();
  let client: MqttClient | undefined;
  let agentId: string | undefined;
  let connected = false;
  let stopping = false;
  let attempt = 0;
  let reconnectTimer: TimerHandle | undefined;
  // MQTT 5 first; fall back to 3.1.1 for brokers that refuse it (e.g. embedded aedes).
  let protocolVersion: 4 | 5 = 5;

  const publishReport = (report: ReportedState) => {
    if (client === undefined || agentId === undefined || !connected) return;
    client
      .publishAsync(topics.reported(agentId), encode(ReportedStateSchema, report), { qos: 1, retain: true })
      // QoS 1: resolved on PUBACK, so the control plane can be reached with this version.
      .then(() => deps.applier.reportDelivered(report))
      .catch((e: Error) => log.warn({ err: e.message }, 'cannot publish reported state'));
  };

  const scheduleReconnect = () => {
    if (stopping || reconnectTimer !== undefined || client === undefined) return;
    const delayMs = backoffDelay(attempt++, deps.backoff, deps.random());
    log.info({ retryInMs: delayMs, attempt }, 'control plane unreachable; reconnecting later');
    reconnectTimer = deps.clock.setTimeout(() => {
      reconnectTimer = undefined;
      if (stopping || client === undefined) return;
      client.options.protocolVersion = protocolVersion;
      client.reconnect();
    }, delayMs);
  };

  const connect = (credentials: Credentials) => {
    const id = credentials.agentId;
    agentId = id;
    const url = deps.controlPlane.mqttUrl ?? credentials.mqtt.url;
    const desiredTopic = topics.desired(id);
    const rpcPrefix = topics.rpc(id, '');
    const ackTopic = topics.ack(id);
    log.info({ agentId: id, url }, 'connecting to control plane broker');
    const c = mqtt.connect(url, {
      protocolVersion,
      clientId: credentials.mqtt.clientId,
      username: credentials.mqtt.username,
      password: credentials.mqtt.password,
      clean: true,
      keepalive: 30,
      connectTimeout: 10_000,
      reconnectPeriod: 0, // we reconnect ourselves, with backoff
      will: {
        topic: topics.status(id),
        payload: Buffer.from(statusPayload('offline')),
        qos: 1,
        retain: true,
      },
    });
    client = c;
    c.on('connect', () => {
      connected = true;
      attempt = 0;
      log.info({ agentId: id, protocolVersion }, 'connected to control plane broker');
      void (async () => {
        try {
          await c.publishAsync(topics.status(id), statusPayload('online'), { qos: 1, retain: true });
          // Every filter the agent's ACL grants: desired, ack (the outbox's) and rpc/+ (live queries).
          await c.subscribeAsync(agentSubscriptionFilters(id), { qos: 1 });
          if (deps.events !== undefined) {
            deps.events.connected({
              agentId: id,
              send: (payload) => c.publishAsync(topics.events(id), payload, { qos: 1 }).then(() => {}),
            });
          }
          publishReport(deps.applier.currentReport());
        } catch (e) {
          log.warn({ err: (e as Error).message }, 'cannot announce on the broker');
        }
      })();
    });
    c.on('message', (topic, payload) => {
      if (topic === ackTopic) {
        deps.events?.acked(payload);
        return;
      }
      if (deps.rpc !== undefined && topic.startsWith(rpcPrefix)) {
        deps.rpc
          .handle(topic.slice(rpcPrefix.length), payload)
          .then(async (reply) => {
            if (reply !== null) await c.publishAsync(topics.reply(id), reply, { qos: 1 });
          })
          .catch((e: Error) => log.warn({ err: e.message }, 'cannot answer rpc request'));
        return;
      }
      if (topic !== desiredTopic) return;
      deps.applier
        .handle(payload)
        .then((report) => report !== null && publishReport(report))
        .catch((e: Error) => log.error({ err: e.message }, 'desired state handling failed'));
    });
    c.on('error', (e: Error & { code?: unknown }) => {
      if (typeof e.code === 'number' && UNSUPPORTED_PROTOCOL.has(e.code) && protocolVersion === 5) {
        log.warn('broker does not speak MQTT 5; falling back to MQTT 3.1.1');
        protocolVersion = 4;
        attempt = 0;
        return;
      }
      log.warn({ err: e.message, code: e.code }, 'control plane broker error');
    });
    c.on('close', () => {
      if (connected) log.warn('disconnected from control plane broker');
      connected = false;
      deps.events?.disconnected();
      scheduleReconnect();
    });
  };

  void obtainCredentials({
    stateDir: deps.stateDir,
    controlPlaneUrl: deps.controlPlane.url,
    allowInsecureHttp: deps.controlPlane.allowInsecureHttp,
    enrollmentToken: deps.controlPlane.enrollmentToken,
    agentVersion: deps.agentVersion,
    hostname: deps.hostname,
    fetch: deps.fetch,
    clock: deps.clock,
    random: deps.random,
    logger: log,
    backoff: deps.backoff,
    signal: abort.signal,
  }).then(
    (credentials) => {
      if (credentials !== null && !stopping) connect(credentials);
    },
    (e: unknown) => {
      if (!stopping) deps.onFatal(e);
    },
  );

  return {
    state: () => (connected ? 'connected' : 'disconnected'),
    async stop() {
      stopping = true;
      deps.events?.disconnected();
      abort.abort();
      if (reconnectTimer !== undefined) deps.clock.clearTimeout(reconnectTimer);
      const c = client;
      if (c === undefined) return;
      if (connected && agentId !== undefined) {
        const published = c
          .publishAsync(topics.status(agentId), statusPayload('offline'), { qos: 1, retain: true })
          .then(() => true)
          .catch(() => false);
        const timedOut = new Promise<boolean>((resolve) =>
          deps.clock.setTimeout(() => resolve(false), STOP_PUBLISH_TIMEOUT_MS),
        );
        if (!(await Promise.race([published, timedOut])))
          log.warn('could not publish offline status before stopping');
        await Promise.race([
          c.endAsync(),
          new Promise<void>((resolve) => deps.clock.setTimeout(resolve, STOP_PUBLISH_TIMEOUT_MS)),
        ]);
      } else {
        await c.endAsync(true).catch(() => {});
      }
      connected = false;
    },
  };
}
