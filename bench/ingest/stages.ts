/**
 * Where an ingest write's time goes on the embedded database (PGlite, or DATABASE_URL): `groups`
 * writes of `per` call records each (10 sites × 10 agents), timing decode+validate, storeRecords
 * (insert + roll-ups) and the peak recompute separately.
 *
 *   node --conditions=@sipwall/source --import tsx bench/ingest/stages.ts [--per 5000] [--groups 10]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { decode, EventBatchSchema } from '@sipwall/shared';
import { openDatabase } from '../../control-plane/server/src/db/client.js';
import { recomputePeak, storeRecords } from '../../control-plane/server/src/db/queries/telemetry.js';
import { agents, organizations, sites } from '../../control-plane/server/src/db/schema/index.js';
import { peakKeys, peakKeyString, type PeakKey } from '../../control-plane/server/src/domain/stats-rollup.js';

const { values } = parseArgs({
  options: { per: { type: 'string', default: '5000' }, groups: { type: 'string', default: '10' } },
});
const PER = Number(values.per);
const GROUPS = Number(values.groups);

function callRecord() {
  const now = Date.now();
  const durationSec = 60 + Math.floor(Math.random() * 540);
  const answeredAt = new Date(now - durationSec * 1000);
  return {
    id: randomUUID(),
    at: new Date(now).toISOString(),
    kind: 'call',
    callId: `${randomUUID()}@bench.test`,
    from: 'sip:alice@bench.test',
    to: 'sip:+15550100@carrier.test',
    direction: 'outbound',
    startedAt: new Date(answeredAt.getTime() - 4000).toISOString(),
    answeredAt: answeredAt.toISOString(),
    endedAt: new Date(now).toISOString(),
    status: 200,
    disposition: 'answered',
    endReason: 'bye-caller',
    durationSec,
    codes: [100, 180, 200],
    media: { packetsIn: 1, packetsOut: 1, bytesIn: 172, bytesOut: 172, oneWay: false, mos: 4.3 },
  };
}

const url = process.env['DATABASE_URL'];
const dataDir = process.env['PGLITE_DIR'] ?? 'memory';
const handle = await openDatabase(url ? { kind: 'postgres', url } : { kind: 'pglite', dataDir });
const db = handle.db;
const [org] = await db.insert(organizations).values({ name: 'bench' }).returning();
const tenants = [];
for (let s = 0; s < 10; s++) {
  const [site] = await db
    .insert(sites)
    .values({ name: `s${s}`, organizationId: org!.id })
    .returning();
  for (let a = 0; a < 10; a++) {
    const id = `agent-${s}-${a}`;
    await db.insert(agents).values({ id, siteId: site!.id, name: id });
    tenants.push({ agentId: id, siteId: site!.id, organizationId: org!.id });
  }
}
const t = { decode: 0, store: 0, peak: 0 };
const BATCH = 50;
for (let g = 0; g < GROUPS; g++) {
  const payloads = [];
  for (let i = 0; i < PER / BATCH; i++) {
    const tenant = tenants[i % tenants.length]!;
    payloads.push({
      tenant,
      payload: Buffer.from(
        JSON.stringify({
          v: 1,
          agentId: tenant.agentId,
          msgId: randomUUID(),
          sentAt: new Date().toISOString(),
          records: Array.from({ length: BATCH }, callRecord),
        }),
      ),
    });
  }
  let t0 = performance.now();
  const items = payloads.flatMap(({ tenant, payload }) => {
    const r = decode(EventBatchSchema, payload);
    if (!r.ok) throw new Error('invalid');
    return r.value.records.map((record) => ({ record, tenant }));
  });
  t.decode += performance.now() - t0;
  t0 = performance.now();
  const inserted = await storeRecords(db, items);
  t.store += performance.now() - t0;
  const keys = new Map<string, PeakKey>();
  for (const it of items)
    if (it.record.kind === 'call' && inserted.has(it.record.id))
      for (const k of peakKeys(it.record, it.tenant)) keys.set(peakKeyString(k), k);
  t0 = performance.now();
  for (const k of keys.values()) await recomputePeak(db, k);
  t.peak += performance.now() - t0;
}
const n = PER * GROUPS;
const ms = (v: number) => `${v.toFixed(0)} ms (${((n / v) * 1000).toFixed(0)}/s)`;
console.log(
  `stages: ${n} records in groups of ${PER} (${url ? 'postgres' : 'pglite'}): decode+validate ${ms(t.decode)}, ` +
    `store ${ms(t.store)}, peaks ${ms(t.peak)}; total ${((n / (t.decode + t.store + t.peak)) * 1000).toFixed(0)}/s`,
);
await handle.close();
