import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statsHourly } from '../../src/db/schema/telemetry.js';
import { rankWorst, type SiteTotals } from '../../src/domain/worst-sites.js';
import { type SignedIn, startTestControlPlane, type TestControlPlane } from '../helpers/control-plane.js';

const totals = (
  name: string,
  calls: number,
  answered: number,
  failedAuths = 0,
  oneWayCalls = 0,
): SiteTotals => ({
  siteId: `id-${name}`,
  name,
  calls,
  answered,
  asr: calls === 0 ? null : answered / calls,
  failedAuths,
  oneWayCalls,
  peakConcurrent: 1,
});

describe('rankWorst (pure)', () => {
  const rows = [
    totals('a', 10, 9, 0, 1),
    totals('b', 10, 2, 5, 0),
    totals('c', 0, 0, 40, 0),
    totals('d', 20, 4, 5, 3),
  ];
  it('asr: sites with calls only, lowest first, the busier first on a tie', () => {
    expect(rankWorst(rows, 'asr', 10).map((r) => r.name)).toEqual(['d', 'b', 'a']);
  });
  it('failedAuths and oneWay: most first, sites with none left out, ties by name', () => {
    expect(rankWorst(rows, 'failedAuths', 10).map((r) => r.name)).toEqual(['c', 'b', 'd']);
    expect(rankWorst(rows, 'oneWay', 1).map((r) => r.name)).toEqual(['d']);
  });
});

describe('stats.worstSites', () => {
  let cp: TestControlPlane;
  let owner: SignedIn;
  let orgId: string;
  const sites: Record<string, string> = {};

  beforeAll(async () => {
    cp = await startTestControlPlane();
    owner = await cp.operator('owner@worst.test');
    orgId = (await owner.api.organizations.create({ name: 'Worst org' })).id;
    for (const name of ['good', 'bad', 'noisy'])
      sites[name] = (await owner.api.sites.create({ organizationId: orgId, name })).id;
    const hour = new Date('2026-12-05T10:00:00.000Z');
    const row = (
      siteId: string,
      h: number,
      calls: number,
      answered: number,
      failedAuths: number,
      oneWayCalls: number,
    ) => ({
      scope: 'site' as const,
      scopeId: siteId,
      organizationId: orgId,
      hour: new Date(hour.getTime() + h * 3_600_000),
      calls,
      answered,
      answeredSec: answered * 60,
      failedAuths,
      oneWayCalls,
      peakConcurrent: calls,
    });
    await cp.database.db.insert(statsHourly).values([
      row(sites['good']!, 0, 10, 9, 0, 0),
      row(sites['good']!, 1, 10, 10, 0, 0),
      row(sites['bad']!, 0, 10, 1, 2, 4),
      row(sites['bad']!, 30 * 24, 50, 0, 0, 0), // outside the range asked below
      row(sites['noisy']!, 1, 0, 0, 30, 0),
    ]);
  });
  afterAll(async () => cp?.close());

  const range = { from: '2026-12-05T00:00:00.000Z', to: '2026-12-06T00:00:00.000Z' };

  it('ranks the sites of the range by ASR, failed authentications and one-way calls', async () => {
    const asr = await owner.api.stats.worstSites({ organizationId: orgId, ...range, by: 'asr' });
    expect(asr.map((r) => [r.name, r.calls, r.answered])).toEqual([
      ['bad', 10, 1],
      ['good', 20, 19],
    ]);
    expect(asr[0]!.asr).toBeCloseTo(0.1);
    const auth = await owner.api.stats.worstSites({ organizationId: orgId, ...range, by: 'failedAuths' });
    expect(auth.map((r) => [r.name, r.failedAuths])).toEqual([
      ['noisy', 30],
      ['bad', 2],
    ]);
    const oneWay = await owner.api.stats.worstSites({ organizationId: orgId, ...range, by: 'oneWay' });
    expect(oneWay.map((r) => r.siteId)).toEqual([sites['bad']]);
  });

  it('refuses a reversed range naming the field, and a stranger gets NOT_FOUND', async () => {
    await expect(
      owner.api.stats.worstSites({ organizationId: orgId, from: range.to, to: range.from, by: 'asr' }),
    ).rejects.toThrow(/from must be before to/);
    const stranger = await cp.operator('stranger@worst.test');
    await stranger.api.organizations.create({ name: 'Other' });
    await expect(
      stranger.api.stats.worstSites({ organizationId: orgId, ...range, by: 'asr' }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});
