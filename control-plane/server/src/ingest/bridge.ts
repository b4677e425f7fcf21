import {
  type DesiredState,
  DesiredStateSchema,
  encode,
  parseAgentTopic,
  TOPIC_ROOT,
  topics,
} from '@sipwall/shared';
import mqtt, { type MqttClient } from 'mqtt';
import type { Database } from '../db/client.js';
import type { Clock, DesiredPublisher } from '../domain/ports.js';
import { StartError } from '../errors.js';
import { type Logger, redactUrl } from '../logger.js';
import { createEventIngest, type EventIngestOptions } from './event-ingest.js';
import {
  emptyStats,
  handleAgentMessage,
  handleReportedBatch,
  type IngestObserver,
  type IngestOutcome,
  type IngestStats,
} from './handle-message.js';

/** At most this many `reported` messages go into one statement. */
const MAX_REPORTED_PER_STATEMENT = 1000;

/** How the bridge reaches its broker. */
export interface BridgeOptions {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  /** 4 for the embedded aedes (MQTT 3.1.1 only), 5 for Mosquitto/EMQX. */
  protocolVersion: 4 | 5;
  /** Whether the broker supports `$share/…` (aedes does not). */
  sharedSubscriptions: boolean;
  /**
   * Runs after (re)connecting and before subscribing (e.g. granting our own dynsec role).
   * `'reconnect'` means the broker is about to drop us; subscribing waits for the next connect.
   */
  beforeSubscribe?: ((client: MqttClient) => Promise<'ok' | 'reconnect'>) | undefined;
  connectTimeoutMs?: number;
  publishTimeoutMs?: number;
  /** Telemetry ingest tuning (queue bound, records per transaction, writers). */
  events?: Partial<EventIngestOptions> | undefined;
}

/** The control plane's single MQTT client: ingests agent messages, publishes desired state. */
export interface Bridge extends DesiredPublisher {
  readonly client: MqttClient;
  connected(): boolean;
  stats(): IngestStats;
  /** Resolves when every message received so far has been applied (tests). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** Subscription filters; the shared one falls back to the plain filter where `$share` is unsupported. */
export function bridgeFilters(sharedSubscriptions: boolean): string[] {
  const events = sharedSubscriptions ? topics.all.events : topics.all.eventsUnshared;
  return [topics.all.status, topics.all.reported, events, topics.all.reply];
}

const isReplyTopic = (topic: string) => topic.startsWith(`${TOPIC_ROOT}/`) && topic.endsWith('/reply');

/** Connects the bridge; rejects with `StartError('BROKER_UNREACHABLE')` if the first connect fails in time. */
export async function startBridge(
  db: Database,
  deps: {
    clock: Clock;
    logger: Logger;
    /** Called after agents' `reported` messages were stored (rollouts advance on it). */
    onReported?: ((agentIds: readonly string[]) => Promise<void>) | undefined;
    /** Live-query replies (`topics.all.reply`) go here, not through ingestion. */
    onReply?: ((topic: string, payload: Uint8Array) => void) | undefined;
    observe?: IngestObserver | undefined;
  },
  opts: BridgeOptions,
): Promise<Bridge> {
  const log = deps.logger.child({ component: 'bridge' });
  const stats = emptyStats();
  let queue: Promise<void> = Promise.resolve();
  /** Status and reported messages not applied yet, in arrival order. */
  const pending: { topic: string; payload: Uint8Array; reported: boolean }[] = [];
  let drainScheduled = false;
  const client = mqtt.connect(opts.url, {
    ...(opts.username !== undefined ? { username: opts.username } : {}),
    ...(opts.password !== undefined ? { password: opts.password } : {}),
    protocolVersion: opts.protocolVersion,
    clientId: `sipwall-cp-${Math.random().toString(36).slice(2, 10)}`,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: opts.connectTimeoutMs ?? 10_000,
    resubscribe: false,
  });

  const subscribe = async (): Promise<boolean> => {
    if (opts.beforeSubscribe && (await opts.beforeSubscribe(client)) === 'reconnect') return false;
    const granted = await client.subscribeAsync(bridgeFilters(opts.sharedSubscriptions), { qos: 1 });
    const refused = granted.filter((g) => g.qos >= 0x80);
    if (refused.length > 0) {
      throw new Error(
        `subscription refused: ${refused.map((g) => `${g.topic} (0x${g.qos.toString(16)})`).join(', ')}`,
      );
    }
    log.info({ filters: granted.map((g) => g.topic) }, 'bridge subscribed');
    return true;
  };
  let firstReady!: { resolve: () => void; reject: (e: unknown) => void };
  const firstReadyP = new Promise<void>((resolve, reject) => {
    firstReady = { resolve, reject };
  });
  let ready: Promise<unknown> = Promise.resolve();
  client.on('connect', () => {
    ready = subscribe().then(
      (done) => {
        if (done) firstReady.resolve();
      },
      (e: unknown) => {
        log.error({ err: e }, 'bridge subscribe failed');
        firstReady.reject(e);
      },
    );
  });
  client.on('error', (e) => log.warn({ err: e.message, url: redactUrl(opts.url) }, 'bridge mqtt error'));
  const events = createEventIngest(
    {
      db,
      clock: deps.clock,
      logger: log,
      stats,
      observe: deps.observe,
      publishAck: (agentId, payload) =>
        client.publishAsync(topics.ack(agentId), payload, { qos: 1 }).then(() => {}),
    },
    opts.events,
  );
  client.on('message', (topic, payload) => {
    if (isReplyTopic(topic)) {
      deps.onReply?.(topic, payload);
      return;
    }
    stats.received++;
    const parsed = parseAgentTopic(topic);
    if (parsed?.kind === 'events') {
      // Telemetry: many batches in flight, not ordered behind status messages.
      const outcome = events.accept(parsed.agentId, payload);
      if (outcome.kind === 'invalid') {
        stats.invalid++;
        log.warn({ topic, error: outcome.error }, 'invalid events batch dropped');
      } else if (outcome.kind === 'ignored') stats.ignored++;
      else if (outcome.kind === 'overflow')
        log.warn({ topic }, 'events queue full: batch left for the agent to send again');
      return;
    }
    // Sequential, so an agent's online→offline order is kept; runs of `reported` go in one statement.
    pending.push({ topic, payload, reported: parsed?.kind === 'reported' });
    if (!drainScheduled) {
      drainScheduled = true;
      queue = queue.then(drain);
    }
  });

  const count = (outcome: IngestOutcome, topic: string, payload: Uint8Array) => {
    switch (outcome.kind) {
      case 'processed':
        stats.processed++;
        break;
      case 'ignored':
        stats.ignored++;
        break;
      case 'unknown-agent':
        stats.unknownAgent++;
        log.debug({ topic }, 'message from unknown agent');
        break;
      case 'invalid':
        stats.invalid++;
        log.warn(
          {
            topic,
            error: outcome.error,
            payloadPrefix: Buffer.from(payload).subarray(0, 64).toString('latin1'),
          },
          'invalid mqtt payload dropped',
        );
        break;
    }
  };

  /** Applies everything that arrived so far, in order. */
  async function drain(): Promise<void> {
    drainScheduled = false;
    const batch = pending.splice(0);
    for (let i = 0; i < batch.length; ) {
      const m = batch[i]!;
      if (!m.reported) {
        i++;
        try {
          count(await handleAgentMessage(db, deps.clock, m.topic, m.payload), m.topic, m.payload);
        } catch (e) {
          stats.invalid++;
          log.error({ err: e, topic: m.topic }, 'ingest failed');
        }
        continue;
      }
      let j = i;
      while (j < batch.length && batch[j]!.reported && j - i < MAX_REPORTED_PER_STATEMENT) j++;
      const run = batch.slice(i, j);
      i = j;
      try {
        const outcomes = await handleReportedBatch(db, deps.clock, run);
        const applied: string[] = [];
        outcomes.forEach((o, k) => {
          count(o, run[k]!.topic, run[k]!.payload);
          const agentId = parseAgentTopic(run[k]!.topic)?.agentId;
          if (o.kind === 'processed' && agentId !== undefined) applied.push(agentId);
        });
        if (applied.length > 0) await deps.onReported?.(applied);
      } catch (e) {
        stats.invalid += run.length;
        log.error({ err: e, messages: run.length }, 'ingest of reported states failed');
      }
    }
  }

  const timeoutMs = opts.connectTimeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  const onError = (e: Error) => firstReady.reject(e);
  client.once('error', onError);
  try {
    await Promise.race([
      firstReadyP,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`not connected and subscribed within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } catch (e) {
    await client.endAsync(true);
    throw new StartError(
      'BROKER_UNREACHABLE',
      `cannot connect to MQTT broker ${redactUrl(opts.url)}: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  } finally {
    clearTimeout(timer);
    client.off('error', onError);
  }

  const publishTimeoutMs = opts.publishTimeoutMs ?? 5_000;
  /** Retained QoS 1 on the agent's desired topic; an empty payload clears the retained message. */
  const publishRetained = async (agentId: string, payload: string, version: number | null) => {
    const sent = client.publishAsync(topics.desired(agentId), payload, { qos: 1, retain: true });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), publishTimeoutMs);
    });
    try {
      const r = await Promise.race([sent, timedOut]);
      if (r === 'timeout') {
        // The stored version stays authoritative; mqtt.js keeps the message queued until reconnect.
        log.warn({ agentId, version }, 'desired state not acknowledged yet; left queued');
      }
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    client,
    connected: () => client.connected,
    stats: () => ({ ...stats }),
    idle: async () => {
      await ready;
      await queue;
      await events.idle();
    },
    publishDesired: (agentId: string, state: DesiredState) =>
      publishRetained(agentId, encode(DesiredStateSchema, state), state.version),
    clearDesired: (agentId: string) => publishRetained(agentId, '', null),
    async close() {
      await queue;
      await events.close();
      // A clean disconnect flushes what is in flight; with the broker away that would wait for good.
      let timer: NodeJS.Timeout | undefined;
      const clean = await Promise.race([
        client.endAsync().then(() => true),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(false), publishTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (!clean) await client.endAsync(true);
    },
  };
}
