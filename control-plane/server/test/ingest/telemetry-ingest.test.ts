import { randomUUID } from 'node:crypto';
import { type TelemetryRecord, topics } from '@sipwall/shared';
import { sql } from 'drizzle-orm';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneRecords } from '../../src/db/queries/telemetry.js';
import { startTestControlPlane, type TestControlPlane, waitFor } from '../helpers/control-plane.js';
import { createFleet, enrolledAgent } from '../helpers/fleet.js';
import { startMosquittoDynsec, type TestMosquitto } from '../helpers/mosquitto.js';
import { connectClient, sleep } from '../helpers/mqtt-client.js';
import { trpcError } from '../helpers/trpc-error.js';

// With MQTT_URL set this runs on a Mosquitto of its own (dynsec, shared subscription): other test
// runs on the shared broker would take part in the `$share/cp` group and receive our batches.
const external = process.env['MQTT_URL'] !== undefined;
const backend = `${process.env['DATABASE_URL'] ? 'postgres' : 'pglite'} + ${external ? 'mosquitto (dynsec)' : 'aedes'}`;

const at = (hh: number, mm: number, ss = 0) => new Date(Date.UTC(2026, 11, 5, hh, mm, ss)).toISOString();

function call(
  start: string,
  answered: string | null,
  end: string,
  extra: Record<string, unknown> = {},
): TelemetryRecord {
  return {
    id: randomUUID(),
    at: end,
    kind: 'call',
    callId: randomUUID(),
    from: 'sip:alice@example.test',
    to: 'sip:bob@example.test',
    direction: 'outbound',
    startedAt: start,
    answeredAt: answered,
    endedAt: end,
    status: answered === null ? 486 : 200,
    disposition: answered === null ? 'busy' : 'answered',
    durationSec: answered === null ? 0 : Math.round((Date.parse(end) - Date.parse(answered)) / 1000),
    ...extra,
  } as TelemetryRecord;
}

describe(`telemetry ingest: idempotent storage, hourly roll-ups, acks, statistics (${backend})`, () => {
  let cp: TestControlPlane;
  let fleet: Awaited<ReturnType<typeof createFleet>>;
  let other: Awaited<ReturnType<typeof createFleet>>;
  let agentId: string;
  let client: MqttClient;
  let mosquitto: TestMosquitto | undefined;
  const acks: { msgId: string; stored: number; duplicates: number }[] = [];

  const batch = (records: TelemetryRecord[], msgId: string = randomUUID()) =>
    JSON.stringify({
      v: 1,
      agentId,
      msgId,
      sentAt: new Date().toISOString(),
      records,
      outbox: { depth: records.length, dropped: 0 },
    });
  const send = async (payload: string) => {
    await client.publishAsync(topics.events(agentId), payload, { qos: 1 });
    const msgId = JSON.parse(payload).msgId as string;
    await waitFor(async () => acks.some((a) => a.msgId === msgId), 10_000, `ack of ${msgId}`);
    return acks.filter((a) => a.msgId === msgId).at(-1)!;
  };

  // Hour 10: calls 10:05–10:07 (answered 60 s), 10:06–10:10 (answered 180 s, one-way media),
  // 10:20 busy; peak 2 (the first two overlap). One 10:59–11:02 call spills into hour 11.
  const records: TelemetryRecord[] = [
    call(at(10, 5), at(10, 6), at(10, 7)),
    call(at(10, 6), at(10, 7), at(10, 10), {
      media: { packetsIn: 500, packetsOut: 0, bytesIn: 80_000, bytesOut: 0, oneWay: true },
    }),
    call(at(10, 20), null, at(10, 20, 5)),
    call(at(10, 59), at(10, 59, 30), at(11, 2), { endReason: 'bye-caller' }),
    {
      id: randomUUID(),
      at: at(10, 30),
      kind: 'security',
      event: 'auth-failure',
      source: '192.0.2.7',
      detail: 'bad password',
    },
    {
      id: randomUUID(),
      at: at(10, 31),
      kind: 'security',
      event: 'source-blocked',
      source: '192.0.2.7',
      detail: '',
    },
    {
      id: randomUUID(),
      at: at(10, 32),
      kind: 'registration',
      aor: 'sip:alice@example.test',
      contact: 'sip:alice@192.0.2.10',
      action: 'added',
      expiresSec: 300,
      source: '192.0.2.10',
      transport: 'udp',
    },
    {
      id: randomUUID(),
      at: at(10, 33),
      kind: 'registration',
      aor: 'sip:alice@example.test',
      contact: 'sip:alice@192.0.2.10',
      action: 'removed',
      expiresSec: 0,
      source: '192.0.2.10',
      transport: 'udp',
    },
    {
      id: randomUUID(),
      at: at(10, 34),
      kind: 'dialog',
      callId: 'x',
      state: 'started',
      from: 'a',
      to: 'b',
      direction: 'inbound',
    },
  ];

  beforeAll(async () => {
    if (external) mosquitto = await startMosquittoDynsec();
    cp = await startTestControlPlane({
      events: { peakDelayMs: 0 },
      ...(mosquitto ? { broker: { kind: 'external', url: mosquitto.adminUrl, provisioning: 'dynsec' } } : {}),
    });
    fleet = await createFleet(cp, `owner-${randomUUID()}@stats.test`);
    other = await createFleet(cp, `other-${randomUUID()}@stats.test`);
    const a = await enrolledAgent(cp, fleet.owner, fleet.site.id, 'fw-stats');
    agentId = a.agentId;
    client = await connectClient(a.creds.mqtt.url, {
      clientId: a.creds.mqtt.clientId,
      username: a.creds.mqtt.username,
      password: a.creds.mqtt.password,
      protocolVersion: external ? 5 : 4,
    });
    client.on('message', (topic, payload) => {
      if (topic === topics.ack(agentId)) acks.push(JSON.parse(payload.toString()));
    });
    await client.subscribeAsync(topics.ack(agentId), { qos: 1 });
  });
  afterAll(async () => {
    await client?.endAsync(true).catch(() => {});
    await cp?.close();
    await mosquitto?.stop();
  });

  const series = (bucket: 'hour' | 'day', target = { scope: 'site' as const, siteId: fleet.site.id }) =>
    fleet.owner.api.stats.series({
      target,
      from: at(0, 0),
      to: new Date(Date.parse(at(0, 0)) + 86_400_000).toISOString(),
      bucket,
    });

  it('stores a batch and acknowledges it after the commit, with what was new', async () => {
    const ack = await send(batch(records));
    expect(ack).toMatchObject({ stored: 8, duplicates: 0 });
    await cp.bridge.idle();
    const stats = cp.bridge.stats();
    expect(stats).toMatchObject({
      recordsReceived: 9,
      recordsStored: 8,
      recordsDuplicate: 0,
      recordsSkipped: 1,
    });
    expect(stats.queuedRecords).toBe(0);
    await waitFor(async () => cp.bridge.stats().batchesAcked === 1, 5_000, 'ack publish confirmed');
  });

  it('hourly statistics per site: calls, answered, ASR, ACD, peak, failed auths, one-way, registrations', async () => {
    const points = await series('hour');
    expect(points.map((p) => p.at)).toEqual([at(10, 0), at(11, 0)]);
    expect(points[0]).toMatchObject({
      calls: 4,
      answered: 3,
      asr: 0.75,
      acdSec: (60 + 180 + 150) / 3,
      peakConcurrent: 2,
      failedAuths: 1,
      securityEvents: 2,
      oneWayCalls: 1,
      registrations: 1,
    });
    // Hour 11 has no call that started in it, but the 10:59 call was running: peak 1.
    expect(points[1]).toMatchObject({ calls: 0, asr: null, acdSec: null, peakConcurrent: 1 });
  });

  it('a batch sent again, and a batch mixing old and new records, never count twice', async () => {
    const first = JSON.parse(batch(records)).msgId as string;
    const again = await send(batch(records, first));
    expect(again).toMatchObject({ stored: 0, duplicates: 8 });
    const extra = call(at(10, 40), at(10, 41), at(10, 42));
    const mixed = await send(batch([records[0]!, records[4]!, extra]));
    expect(mixed).toMatchObject({ stored: 1, duplicates: 2 });
    await cp.bridge.idle();
    const [h10] = await series('hour');
    expect(h10).toMatchObject({ calls: 5, answered: 4, failedAuths: 1, registrations: 1, peakConcurrent: 2 });
    const [day] = await series('day');
    expect(day).toMatchObject({ at: at(0, 0), calls: 5, answered: 4, peakConcurrent: 2, failedAuths: 1 });
    const org = await series('day', { scope: 'organization', organizationId: fleet.org.id } as never);
    expect(org[0]).toMatchObject({ calls: 5, answered: 4, peakConcurrent: 2 });
    expect(cp.bridge.stats()).toMatchObject({ recordsStored: 9, recordsDuplicate: 10 });
  });

  it('recent call records (paged) and security events of the site', async () => {
    const page = await fleet.owner.api.stats.recentCalls({ siteId: fleet.site.id, limit: 2, offset: 0 });
    expect(page.total).toBe(5);
    expect(page.rows.map((r) => r.endedAt)).toEqual([at(11, 2), at(10, 42)]);
    expect(page.rows[0]).toMatchObject({
      agentId,
      disposition: 'answered',
      endReason: 'bye-caller',
      durationSec: 150,
    });
    const next = await fleet.owner.api.stats.recentCalls({ siteId: fleet.site.id, limit: 10, offset: 2 });
    expect(next.rows).toHaveLength(3);
    const oneWay = next.rows.find((r) => r.oneWay === true);
    expect(oneWay).toMatchObject({ packetsIn: 500, packetsOut: 0, bytesIn: 80_000 });
    const sec = await fleet.owner.api.stats.recentSecurityEvents({
      target: { scope: 'site', siteId: fleet.site.id },
    });
    expect(sec.map((e) => e.event)).toEqual(['source-blocked', 'auth-failure']);
  });

  it('another tenant sees nothing: NOT_FOUND for site, organization and records', async () => {
    const api = other.owner.api;
    expect(
      (
        await trpcError(
          api.stats.series({
            target: { scope: 'site', siteId: fleet.site.id },
            from: at(0, 0),
            to: at(12, 0),
            bucket: 'hour',
          }),
        )
      ).code,
    ).toBe('NOT_FOUND');
    expect(
      (
        await trpcError(
          api.stats.series({
            target: { scope: 'organization', organizationId: fleet.org.id },
            from: at(0, 0),
            to: at(12, 0),
            bucket: 'day',
          }),
        )
      ).code,
    ).toBe('NOT_FOUND');
    expect((await trpcError(api.stats.recentCalls({ siteId: fleet.site.id }))).code).toBe('NOT_FOUND');
    expect(
      (await trpcError(api.stats.recentSecurityEvents({ target: { scope: 'site', siteId: fleet.site.id } })))
        .code,
    ).toBe('NOT_FOUND');
    // And its own (empty) site has no points.
    expect(
      await api.stats.series({
        target: { scope: 'site', siteId: other.site.id },
        from: at(0, 0),
        to: at(12, 0),
        bucket: 'hour',
      }),
    ).toEqual([]);
    // A viewer of the right organization may read.
    const viewer = await cp.operator(`viewer-${randomUUID()}@stats.test`, [
      { organizationId: fleet.org.id, role: 'viewer' },
    ]);
    expect((await viewer.api.stats.recentCalls({ siteId: fleet.site.id })).total).toBe(5);
    // Bad ranges are typed input errors.
    expect(
      (
        await trpcError(
          api.stats.series({
            target: { scope: 'site', siteId: other.site.id },
            from: at(12, 0),
            to: at(0, 0),
            bucket: 'hour',
          }),
        )
      ).code,
    ).toBe('BAD_REQUEST');
  });

  it('a malformed batch is counted invalid and never acknowledged', async () => {
    const before = cp.bridge.stats().invalid;
    const msgId = randomUUID();
    const bad = JSON.stringify({
      v: 1,
      agentId,
      msgId,
      sentAt: new Date().toISOString(),
      records: [{ kind: 'call', id: 'nope' }],
    });
    await client.publishAsync(topics.events(agentId), bad, { qos: 1 });
    await waitFor(async () => cp.bridge.stats().invalid > before, 5_000, 'invalid counted');
    await sleep(200);
    expect(acks.some((a) => a.msgId === msgId)).toBe(false);
  });

  it('retention prunes raw records and keeps the roll-ups', async () => {
    const pruned = await pruneRecords(cp.database.db, new Date(Date.parse(at(23, 0))));
    expect(pruned).toEqual({ calls: 5, registrations: 2, security: 2 });
    const count = await cp.database.db.execute(sql`select count(*)::int as n from call_records`);
    expect((count as unknown as { rows: { n: number }[] }).rows[0]!.n).toBe(0);
    const [h10] = await series('hour');
    expect(h10).toMatchObject({ calls: 5, answered: 4, peakConcurrent: 2 });
  });
});
