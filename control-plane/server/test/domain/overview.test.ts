import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agents, callRecords, registrationEvents, securityEvents } from '../../src/db/schema/index.js';
import { siteHealthFor } from '../../src/domain/overview.js';
import { RpcError, type RpcClient } from '../../src/ingest/rpc-client.js';
import { startTestControlPlane, type TestControlPlane } from '../helpers/control-plane.js';

const NOW = new Date('2026-03-10T15:00:00.000Z');
const at = (iso: string) => new Date(iso);

describe('overview.sites: each site’s health from stored facts', () => {
  let cp: TestControlPlane;
  let orgId: string;
  let operatorId: string;
  let hq: string;
  let branch: string;
  let empty: string;
  const agentIds: Record<string, string> = {};

  beforeAll(async () => {
    cp = await startTestControlPlane();
    const owner = await cp.operator('owner@overview.test');
    operatorId = owner.operator.id;
    orgId = (await owner.api.organizations.create({ name: 'Overview' })).id;
    hq = (await owner.api.sites.create({ organizationId: orgId, name: 'HQ' })).id;
    branch = (await owner.api.sites.create({ organizationId: orgId, name: 'Branch' })).id;
    empty = (await owner.api.sites.create({ organizationId: orgId, name: 'Empty' })).id;
    for (const [key, siteId] of [
      ['hq1', hq],
      ['hq2', hq],
      ['br1', branch],
    ] as const) {
      agentIds[key] = (await owner.api.agents.create({ siteId, name: key })).agent.id;
    }
    const db = cp.database.db;
    // hq1 online and enrolled, hq2 enrolled but offline, br1 never enrolled.
    await db
      .update(agents)
      .set({ enrollmentUsedAt: NOW, online: true })
      .where(eq(agents.id, agentIds['hq1']!));
    await db
      .update(agents)
      .set({ enrollmentUsedAt: NOW, online: false })
      .where(eq(agents.id, agentIds['hq2']!));

    const tenant = (siteId: string, agentId: string) => ({ siteId, agentId, organizationId: orgId });
    const call = (siteId: string, agentId: string, startedAt: string, answered: boolean, oneWay = false) => ({
      id: randomUUID(),
      ...tenant(siteId, agentId),
      callId: randomUUID(),
      fromUri: 'sip:a@x',
      toUri: 'sip:b@x',
      direction: 'internal',
      startedAt: at(startedAt),
      answeredAt: answered ? at(startedAt) : null,
      endedAt: at(startedAt),
      status: answered ? 200 : 486,
      disposition: answered ? 'answered' : 'busy',
      durationSec: 0,
      oneWay,
    });
    await db.insert(callRecords).values([
      call(hq, agentIds['hq1']!, '2026-03-10T08:00:00Z', true),
      call(hq, agentIds['hq1']!, '2026-03-10T09:00:00Z', true, true),
      call(hq, agentIds['hq1']!, '2026-03-10T10:00:00Z', false),
      call(hq, agentIds['hq1']!, '2026-03-10T11:00:00Z', true),
      // Yesterday: not today.
      call(hq, agentIds['hq1']!, '2026-03-09T23:59:00Z', true),
    ]);
    const reg = (contact: string, action: string, when: string, expiresSec: number) => ({
      id: randomUUID(),
      ...tenant(hq, agentIds['hq1']!),
      at: at(when),
      aor: `sip:${contact}@x`,
      contact: `sip:${contact}@10.0.0.1`,
      action,
      expiresSec,
      source: '10.0.0.1:5060',
      transport: 'udp',
    });
    await db.insert(registrationEvents).values([
      // alive: refreshed 1 min ago for 1 h
      reg('alice', 'added', '2026-03-10T13:00:00Z', 3600),
      reg('alice', 'refreshed', '2026-03-10T14:59:00Z', 3600),
      // removed after being added: not counted
      reg('bob', 'added', '2026-03-10T14:00:00Z', 3600),
      reg('bob', 'removed', '2026-03-10T14:30:00Z', 0),
      // expired: added 2 h ago for 1 h
      reg('carol', 'added', '2026-03-10T13:00:00Z', 3600),
      // alive
      reg('dave', 'added', '2026-03-10T14:55:00Z', 600),
    ]);
    const sec = (when: string) => ({
      id: randomUUID(),
      ...tenant(branch, agentIds['br1']!),
      at: at(when),
      event: 'auth-failed',
      source: '192.0.2.7:5060',
      detail: 'wrong password',
    });
    await db.insert(securityEvents).values([sec('2026-03-10T14:00:00Z'), sec('2026-03-09T14:00:00Z')]);
  }, 60_000);

  afterAll(async () => {
    await cp?.close();
  });

  it('counts agents, config, registrations, calls/ASR/one-way today and security events per site', async () => {
    const health = await siteHealthFor(cp.database.db, null, () => NOW, {
      operatorId,
      organizationId: orgId,
    });
    const byName = Object.fromEntries(health.map((h) => [h.name, h]));
    expect(health.map((h) => h.name)).toEqual(['Branch', 'Empty', 'HQ']);
    expect(byName['HQ']).toMatchObject({
      siteId: hq,
      agents: { total: 2, online: 1, offline: 1, notEnrolled: 0 },
      config: { applied: 0, pending: 0, failed: 0, unmanaged: 2 },
      registrations: 2,
      activeCalls: null,
      callsToday: 4,
      asrToday: 0.75,
      oneWayToday: 1,
      securityEvents24h: 0,
    });
    expect(byName['Branch']).toMatchObject({
      agents: { total: 1, online: 0, offline: 0, notEnrolled: 1 },
      registrations: 0,
      callsToday: 0,
      asrToday: null,
      securityEvents24h: 1,
    });
    expect(byName['Empty']).toMatchObject({ siteId: empty, agents: { total: 0 }, callsToday: 0 });
  });

  it('adds up active calls from the online agents that answer', async () => {
    const asked: string[] = [];
    const live = {
      async call(agentId: string) {
        asked.push(agentId);
        if (agentId === agentIds['hq1']) return { total: 3, offset: 0, rows: [], truncated: false };
        throw new RpcError('timeout', 'no answer');
      },
    } as unknown as RpcClient;
    const health = await siteHealthFor(cp.database.db, live, () => NOW, {
      operatorId,
      organizationId: orgId,
    });
    expect(asked).toEqual([agentIds['hq1']]);
    expect(health.find((h) => h.name === 'HQ')?.activeCalls).toBe(3);
    expect(health.find((h) => h.name === 'Branch')?.activeCalls).toBeNull();
  });

  it('a non-member gets not-found, whatever the site data', async () => {
    const stranger = await cp.operator('stranger@overview.test');
    await expect(
      siteHealthFor(cp.database.db, null, () => NOW, {
        operatorId: stranger.operator.id,
        organizationId: orgId,
      }),
    ).rejects.toMatchObject({ code: 'not-found' });
  });
});
