/**
 * A simulated agent for bench/fleet: one light MQTT client that speaks exactly the agent's side of
 * the contract in `@sipwall/shared` — `status` online/offline (last will), applies every `desired`
 * by answering `reported` (no SIP stack behind it), publishes call records as `events` batches and
 * counts the control plane's `ack`s. Many of them share one process.
 */
import { randomUUID } from 'node:crypto';
import {
  type CallRecordSchema,
  decode,
  EventAckSchema,
  type EventBatch,
  EventBatchSchema,
  encode,
  ReportedStateSchema,
  topics,
} from '@sipwall/shared';
import mqtt, { type MqttClient } from 'mqtt';
import type { z } from 'zod';

type CallRecord = z.input<typeof CallRecordSchema>;

export interface SimCredentials {
  agentId: string;
  mqttUrl: string;
  username: string;
  password: string;
}

/** When this agent saw (and reported) each desired version, in ms of `performance.now()`. */
export interface AppliedMark {
  version: number;
  receivedAt: number;
  /** The broker acknowledged (PUBACK) our `reported` for this version. */
  reportedAt: number;
}

export class SimAgent {
  private client: MqttClient | null = null;
  private readonly pendingAcks = new Map<string, { records: number; resolve: () => void }>();
  readonly applied: AppliedMark[] = [];
  recordsAcked = 0;
  recordsSent = 0;

  constructor(readonly creds: SimCredentials) {}

  /** Connects (MQTT 3.1.1, as the embedded broker speaks), subscribes and announces itself online. */
  async connect(): Promise<void> {
    const { agentId } = this.creds;
    const client = mqtt.connect(this.creds.mqttUrl, {
      clientId: agentId,
      username: this.creds.username,
      password: this.creds.password,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 60_000,
      keepalive: 120,
      will: {
        topic: topics.status(agentId),
        payload: Buffer.from('{"state":"offline"}'),
        qos: 1,
        retain: true,
      },
    });
    this.client = client;
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    await new Promise<void>((resolve, reject) => {
      const fail = (e: Error) => reject(new Error(`${agentId}: ${e.message}`));
      client.once('error', fail);
      client.once('connect', () => {
        client.off('error', fail);
        resolve();
      });
    });
    client.on('error', () => {}); // reconnects on its own; the run's checks catch what is lost
    await client.subscribeAsync([topics.desired(agentId), topics.ack(agentId)], { qos: 1 });
    await client.publishAsync(topics.status(agentId), '{"state":"online"}', { qos: 1, retain: true });
  }

  private onMessage(topic: string, payload: Buffer): void {
    const { agentId } = this.creds;
    if (topic === topics.desired(agentId)) {
      const receivedAt = performance.now();
      // Light on purpose: thousands of these share the bench's process (and its 2 cores) with
      // nothing to protect; the control plane validated the document before it published it.
      const version = (JSON.parse(payload.toString('utf8')) as { version?: unknown }).version;
      if (typeof version !== 'number') return;
      this.client
        ?.publishAsync(topics.reported(agentId), reportedPayload(version), { qos: 1, retain: true })
        .then(() => this.applied.push({ version, receivedAt, reportedAt: performance.now() }))
        .catch(() => {});
      return;
    }
    if (topic === topics.ack(agentId)) {
      const a = decode(EventAckSchema, payload);
      if (!a.ok) return;
      const pending = this.pendingAcks.get(a.value.msgId);
      if (!pending) return;
      this.pendingAcks.delete(a.value.msgId);
      this.recordsAcked += pending.records;
      pending.resolve();
    }
  }

  /**
   * Publishes `count` call records in batches of `batchSize` (QoS 1) and resolves when the control
   * plane has acknowledged every batch, or rejects after `timeoutMs`.
   */
  async sendCallRecords(count: number, batchSize: number, timeoutMs: number): Promise<void> {
    const { agentId } = this.creds;
    const client = this.client;
    if (!client) throw new Error('not connected');
    const acks: Promise<void>[] = [];
    for (let sent = 0; sent < count; sent += batchSize) {
      const n = Math.min(batchSize, count - sent);
      const batch: EventBatch = {
        v: 1,
        agentId,
        msgId: randomUUID(),
        sentAt: new Date().toISOString(),
        records: Array.from({ length: n }, () => callRecord()),
      };
      const payload = JSON.stringify(batch); // the shape is checked once by selfCheck()
      acks.push(new Promise<void>((resolve) => this.pendingAcks.set(batch.msgId, { records: n, resolve })));
      await client.publishAsync(topics.events(agentId), payload, { qos: 1 });
      this.recordsSent += n;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${agentId}: ${this.pendingAcks.size} batch(es) not acknowledged`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([Promise.all(acks), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.client?.endAsync(true).catch(() => {});
    this.client = null;
  }
}

/** A `reported` state for `version`, built without a schema pass (checked once in `selfCheck`). */
function reportedPayload(version: number): string {
  return JSON.stringify({
    appliedVersion: version,
    status: 'applied',
    errors: [],
    agentVersion: 'bench-sim',
    reportedAt: new Date().toISOString(),
  });
}

/** Fails at start if the light payloads above no longer match the shared schemas. */
export function selfCheck(): void {
  const r = decode(ReportedStateSchema, reportedPayload(1));
  if (!r.ok)
    throw new Error(`bench/fleet: the simulated reported state is invalid: ${JSON.stringify(r.error)}`);
  encode(EventBatchSchema, {
    v: 1,
    agentId: 'ag-selfcheck',
    msgId: randomUUID(),
    sentAt: new Date().toISOString(),
    records: [callRecord()],
  });
}

/** One plausible answered call of 1–10 minutes that ended a moment ago. */
function callRecord(): CallRecord {
  const now = Date.now();
  const durationSec = 60 + Math.floor(Math.random() * 540);
  const endedAt = new Date(now);
  const answeredAt = new Date(now - durationSec * 1000);
  const startedAt = new Date(answeredAt.getTime() - 4000);
  return {
    id: randomUUID(),
    at: endedAt.toISOString(),
    kind: 'call',
    callId: `${randomUUID()}@bench.test`,
    from: 'sip:alice@bench.test',
    to: 'sip:+15550100@carrier.test',
    direction: 'outbound',
    startedAt: startedAt.toISOString(),
    answeredAt: answeredAt.toISOString(),
    endedAt: endedAt.toISOString(),
    status: 200,
    disposition: 'answered',
    endReason: 'bye-caller',
    durationSec,
    codes: [100, 180, 200],
    media: {
      packetsIn: durationSec * 50,
      packetsOut: durationSec * 50,
      bytesIn: durationSec * 50 * 172,
      bytesOut: durationSec * 50 * 172,
      oneWay: false,
      mos: 4.3,
    },
  };
}
