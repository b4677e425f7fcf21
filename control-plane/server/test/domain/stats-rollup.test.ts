import type { TelemetryRecord } from '@sipwall/shared';
import { describe, expect, it } from 'vitest';
import { hourOf, MAX_PEAK_HOURS_PER_CALL, peakKeys, rollup } from '../../src/domain/stats-rollup.js';

const tenant = {
  siteId: '00000000-0000-4000-8000-000000000001',
  organizationId: '00000000-0000-4000-8000-0000000000aa',
};
const at = (hh: number, mm: number, ss = 0) => new Date(Date.UTC(2026, 11, 6, hh, mm, ss)).toISOString();
let n = 0;
const id = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;

function call(
  start: string,
  answered: string | null,
  end: string,
  extra: Partial<Extract<TelemetryRecord, { kind: 'call' }>> = {},
) {
  return {
    id: id(),
    at: end,
    kind: 'call' as const,
    callId: `c${n}`,
    from: 'sip:a@x',
    to: 'sip:b@x',
    direction: 'outbound' as const,
    startedAt: start,
    answeredAt: answered,
    endedAt: end,
    status: answered === null ? 486 : 200,
    disposition: answered === null ? ('busy' as const) : ('answered' as const),
    durationSec: answered === null ? 0 : Math.round((Date.parse(end) - Date.parse(answered)) / 1000),
    ...extra,
  };
}

describe('hourly roll-up (pure)', () => {
  it('counts calls in the hour they started, answered duration for ACD, one-way media, auth failures and registrations', () => {
    const records: TelemetryRecord[] = [
      call(at(10, 5), at(10, 5, 10), at(10, 6, 10)),
      call(at(10, 59), at(10, 59, 30), at(11, 2, 30), {
        media: { packetsIn: 5, packetsOut: 0, bytesIn: 1, bytesOut: 0, oneWay: true },
      }),
      call(at(11, 1), null, at(11, 1, 20)),
      { id: id(), at: at(10, 30), kind: 'security', event: 'auth-failure', source: '192.0.2.1', detail: '' },
      {
        id: id(),
        at: at(10, 31),
        kind: 'security',
        event: 'source-blocked',
        source: '192.0.2.1',
        detail: '',
      },
      {
        id: id(),
        at: at(10, 32),
        kind: 'registration',
        aor: 'sip:a@x',
        contact: 'sip:a@1.2.3.4',
        action: 'added',
        expiresSec: 60,
        source: '1.2.3.4',
        transport: 'udp',
      },
      {
        id: id(),
        at: at(10, 33),
        kind: 'registration',
        aor: 'sip:a@x',
        contact: 'sip:a@1.2.3.4',
        action: 'removed',
        expiresSec: 0,
        source: '1.2.3.4',
        transport: 'udp',
      },
      {
        id: id(),
        at: at(10, 34),
        kind: 'dialog',
        callId: 'd',
        state: 'started',
        from: 'a',
        to: 'b',
        direction: 'inbound',
      },
    ];
    const rows = rollup(records.map((record) => ({ record, tenant })));
    const site10 = rows.find((r) => r.scope === 'site' && r.hour.getTime() === Date.parse(at(10, 0)))!;
    expect(site10).toMatchObject({
      calls: 2,
      answered: 2,
      answeredSec: 60 + 180,
      oneWayCalls: 1,
      failedAuths: 1,
      securityEvents: 2,
      registrations: 1,
    });
    const org11 = rows.find((r) => r.scope === 'organization' && r.hour.getTime() === Date.parse(at(11, 0)))!;
    expect(org11).toMatchObject({ scopeId: tenant.organizationId, calls: 1, answered: 0, answeredSec: 0 });
    expect(rows).toHaveLength(4);
    // Stable (lock) order.
    expect(rollup(records.reverse().map((record) => ({ record, tenant })))).toEqual(rows);
  });

  it('a call from agents before disposition existed counts as answered by its answer time', () => {
    const { disposition: _d, durationSec: _s, ...old } = call(at(9, 0), at(9, 0, 5), at(9, 1, 5));
    expect(rollup([{ record: old, tenant }])[0]).toMatchObject({ answered: 1, answeredSec: 0 });
  });

  it('peak keys: every hour a call overlaps, for site and organization, bounded', () => {
    const keys = peakKeys({ startedAt: at(10, 50), endedAt: at(12, 0) }, tenant);
    expect(keys.map((k) => `${k.scope}@${k.hour.toISOString().slice(11, 13)}`)).toEqual([
      'site@10',
      'organization@10',
      'site@11',
      'organization@11',
    ]);
    expect(peakKeys({ startedAt: at(10, 0), endedAt: at(10, 0) }, tenant)).toHaveLength(2);
    const long = peakKeys({ startedAt: '2026-11-01T00:00:00.000Z', endedAt: at(10, 0) }, tenant);
    expect(long).toHaveLength(2 * MAX_PEAK_HOURS_PER_CALL);
    expect(hourOf(at(10, 59, 59)).toISOString()).toBe(at(10, 0));
  });
});
