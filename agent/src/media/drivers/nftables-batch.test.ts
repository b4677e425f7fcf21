import { describe, expect, it } from 'vitest';
import { fakeNftablesContext, pinholeSpec as spec } from '../../../test/media/fake-nftables.js';
import { createNftablesDriver } from './nftables.js';

/*
 * The text path's batches, with a libnftables context that records every run and fails the runs
 * that contain a marker (`fakeNftablesContext`). The kernel behaviour itself is tested in
 * agent/test/media/nftables-driver.test.ts (real nftables in a network namespace).
 */
const recordingContext = (failRun?: (script: string) => boolean) => fakeNftablesContext({ failRun });

function driverWith(rec: ReturnType<typeof fakeNftablesContext>) {
  const driver = createNftablesDriver({ portMin: 30000, portMax: 40000, context: rec.ctx });
  rec.runs.length = 0; // the base ruleset
  return { driver };
}

describe('kernel driver batches', () => {
  it('sends the opens and closes of one event-loop turn as one libnftables run, in order', async () => {
    const rec = recordingContext();
    const { driver } = driverWith(rec);
    await Promise.all([0, 1, 2, 3, 4].map((i) => driver.open([spec(i)])));
    expect(rec.runs).toHaveLength(1);
    expect(rec.runs[0]!.match(/^add element inet sipwall media_pin /gm)).toHaveLength(5);

    await Promise.all([driver.close(['call-0/0/rtp', 'call-1/0/rtp']), driver.open([spec(5)])]);
    expect(rec.runs).toHaveLength(2);
    const second = rec.runs[1]!;
    expect(second.indexOf('delete element inet sipwall media_pin')).toBeLessThan(
      second.indexOf('add element inet sipwall media_pin'),
    );
    expect(
      driver
        .openPinholes()
        .map((p) => p.id)
        .sort(),
    ).toEqual(['call-2/0/rtp', 'call-3/0/rtp', 'call-4/0/rtp', 'call-5/0/rtp'].sort());
    // the closed calls' flows are ended once their batch is in
    expect(rec.conntrack.flat().length).toBeGreaterThan(0);
  });

  it('an open then a close of the same pinhole in one turn leaves nothing behind', async () => {
    const rec = recordingContext();
    const { driver } = driverWith(rec);
    await Promise.all([driver.open([spec(1)]), driver.close(['call-1/0/rtp'])]);
    expect(rec.runs).toHaveLength(1);
    expect(rec.runs[0]).toMatch(/add element inet sipwall media_pin \{ \d+ timeout 60s/);
    expect(rec.runs[0]).toMatch(/delete element inet sipwall media_pin \{ \d+ \}/);
    expect(driver.openPinholes()).toEqual([]);
  });

  it('a failing operation fails alone: the others of its batch are applied, its records put back', async () => {
    // peer port 7999 marks the bad one (a stand-in for whatever the kernel refuses)
    const rec = recordingContext((s) => s.includes('203.0.113.10 . 7999'));
    const { driver } = driverWith(rec);
    await driver.open([spec(1)]);
    rec.runs.length = 0;
    const results = await Promise.allSettled([
      driver.open([spec(2)]),
      driver.open([spec(1, 7999)]), // a refresh of call 1 with a new peer: refused
      driver.open([spec(3, 7999)]), // a new pinhole: refused
      driver.close(['call-2/0/rtp']),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    // the batch, then each operation alone
    expect(rec.runs).toHaveLength(5);
    // call 1 keeps its old record (peer 7000), call 3 was never held, call 2 opened and closed
    expect(driver.openPinholes().map((p) => p.id)).toEqual(['call-1/0/rtp']);
    const n1 = driver.numberOf('call-1/0/rtp');
    expect(n1).toBeDefined();
    // a later refresh of call 1 with its old peer is a plain refresh again (same number)
    await driver.open([spec(1)]);
    expect(driver.numberOf('call-1/0/rtp')).toBe(n1);
  });

  it('a close whose elements expired falls back to remove-if-present on its own', async () => {
    let expired = false;
    const rec = recordingContext((s) => expired && s.startsWith('delete element'));
    const { driver } = driverWith(rec);
    await driver.open([spec(1)]);
    expired = true;
    await driver.close(['call-1/0/rtp']);
    expect(driver.openPinholes()).toEqual([]);
    // batch (plain deletes) failed, then alone: plain deletes again, then add-then-delete
    expect(rec.runs.slice(1)).toHaveLength(3);
    expect(rec.runs.at(-1)).toMatch(/^add element inet sipwall media_pin/);
  });

  it('user-space admissions ride in the batch of the same turn', async () => {
    const rec = recordingContext();
    const { driver } = driverWith(rec);
    driver.allowUserSpace([{ address: '203.0.113.1', port: 30001 }], 60);
    await driver.open([spec(0)]);
    expect(rec.runs).toHaveLength(1);
    expect(rec.runs[0]).toMatch(/^add element inet sipwall media_user4/);
    // alone, they still go at the end of the turn
    driver.disallowUserSpace([{ address: '203.0.113.1', port: 30001 }]);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(rec.runs).toHaveLength(2);
  });

  it('counters and dispose run what is waiting first', async () => {
    const rec = recordingContext();
    const { driver } = driverWith(rec);
    const opened = driver.open([spec(0)]);
    await driver.counters(['call-0/0/rtp']);
    expect(rec.runs[0]).toMatch(/^add element inet sipwall media_pin/);
    await opened;
    const closed = driver.close(['call-0/0/rtp']);
    await driver.dispose();
    await closed;
    expect(rec.runs.some((r) => r.startsWith('delete element inet sipwall media_pin'))).toBe(true);
  });
});
