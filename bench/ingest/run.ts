/**
 * Telemetry ingest throughput of the control plane: many simulated agents (real MQTT clients with
 * their own enrolled credentials) publish `events` batches of call records to a Mosquitto of the
 * bench's own (dynsec, shared subscription), the control plane stores them in PostgreSQL; the
 * bench reports stored records per second, then publishes everything again (the duplicate path).
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
 *     node --conditions=@sipwall/source --import tsx bench/ingest/run.ts [--agents 50] [--records 2000]
 *
 * Bounded: at most 500 agents × 20,000 records, and 300 s of waiting.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { topics } from '@sipwall/shared';
import type { MqttClient } from 'mqtt';
import {
  startTestControlPlane,
  type TestControlPlane,
} from '../../control-plane/server/test/helpers/control-plane.js';
import { createFleet, enrolledAgent } from '../../control-plane/server/test/helpers/fleet.js';
import {
  startMosquittoDynsec,
  type TestMosquitto,
} from '../../control-plane/server/test/helpers/mosquitto.js';
import { connectClient } from '../../control-plane/server/test/helpers/mqtt-client.js';

const { values } = parseArgs({
  options: { agents: { type: 'string', default: '50' }, records: { type: 'string', default: '2000' } },
});
const AGENTS = Math.min(500, Number(values.agents));
const RECORDS = Math.min(20_000, Number(values.records));
const BATCH = 1000;
const WAIT_MS = 300_000;

if (!process.env['DATABASE_URL']) {
  console.error('bench/ingest needs DATABASE_URL (PostgreSQL)');
  process.exit(2);
}

function callRecord(now: number) {
  const start = now - 60_000 - Math.floor(Math.random() * 600_000);
  const answered = start + 3000;
  const end = answered + 30_000 + Math.floor(Math.random() * 60_000);
  return {
    id: randomUUID(),
    at: new Date(end).toISOString(),
    kind: 'call',
    callId: randomUUID(),
    from: 'sip:alice@bench.test',
    to: 'sip:+4930123456@carrier.example',
    direction: 'outbound',
    startedAt: new Date(start).toISOString(),
    answeredAt: new Date(answered).toISOString(),
    endedAt: new Date(end).toISOString(),
    status: 200,
    disposition: 'answered',
    endReason: 'bye-caller',
    durationSec: Math.round((end - answered) / 1000),
    codes: [100, 180, 200],
    media: {
      packetsIn: 3000,
      packetsOut: 2990,
      bytesIn: 516_000,
      bytesOut: 514_280,
      oneWay: false,
      mos: 4.3,
    },
  };
}

async function waitStored(cp: TestControlPlane, field: 'recordsStored' | 'recordsDuplicate', n: number) {
  const deadline = Date.now() + WAIT_MS;
  while (cp.bridge.stats()[field] < n) {
    if (Date.now() > deadline)
      throw new Error(`${field} ${cp.bridge.stats()[field]} of ${n} after ${WAIT_MS} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let mosquitto: TestMosquitto | undefined;
let cp: TestControlPlane | undefined;
const clients: MqttClient[] = [];
try {
  mosquitto = await startMosquittoDynsec();
  cp = await startTestControlPlane({
    broker: { kind: 'external', url: mosquitto.adminUrl, provisioning: 'dynsec' },
  });
  const fleet = await createFleet(cp, `bench-${randomUUID()}@ingest.bench`);
  const sites = await Promise.all(
    Array.from({ length: Math.max(1, Math.ceil(AGENTS / 10)) }, (_, i) =>
      fleet.owner.api.sites.create({ organizationId: fleet.org.id, name: `site ${i}` }),
    ),
  );
  const payloads: { agentId: string; payload: string }[][] = [];
  for (let i = 0; i < AGENTS; i++) {
    const a = await enrolledAgent(cp, fleet.owner, sites[i % sites.length]!.id, `bench-${i}`);
    const c = await connectClient(a.creds.mqtt.url, {
      clientId: a.creds.mqtt.clientId,
      username: a.creds.mqtt.username,
      password: a.creds.mqtt.password,
      protocolVersion: 5,
    });
    clients.push(c);
    const now = Date.now();
    const mine: { agentId: string; payload: string }[] = [];
    for (let sent = 0; sent < RECORDS; sent += BATCH) {
      const records = Array.from({ length: Math.min(BATCH, RECORDS - sent) }, () => callRecord(now));
      const payload = JSON.stringify({
        v: 1,
        agentId: a.agentId,
        msgId: randomUUID(),
        sentAt: new Date().toISOString(),
        records,
      });
      mine.push({ agentId: a.agentId, payload });
    }
    payloads.push(mine);
  }
  const total = AGENTS * RECORDS;
  const publishAll = () =>
    Promise.all(
      clients.map(async (c, i) => {
        for (const p of payloads[i]!) await c.publishAsync(topics.events(p.agentId), p.payload, { qos: 1 });
      }),
    );
  const t0 = performance.now();
  await publishAll();
  const published = performance.now();
  await waitStored(cp, 'recordsStored', total);
  const t1 = performance.now();
  const first = cp.bridge.stats();
  await publishAll();
  await waitStored(cp, 'recordsDuplicate', total);
  const t2 = performance.now();
  await cp.bridge.idle();
  const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);
  console.log(
    JSON.stringify(
      {
        agents: AGENTS,
        records: total,
        batch: BATCH,
        publishMs: Math.round(published - t0),
        storeMs: Math.round(t1 - t0),
        storedPerSec: rate(total, t1 - t0),
        duplicatesPerSec: rate(total, t2 - t1),
        lastLagMs: first.lagMs,
        overflow: cp.bridge.stats().queueOverflow,
        writeFailed: cp.bridge.stats().writeFailed,
      },
      null,
      2,
    ),
  );
} finally {
  for (const c of clients) await c.endAsync(true).catch(() => {});
  await cp?.close();
  await mosquitto?.stop();
}
