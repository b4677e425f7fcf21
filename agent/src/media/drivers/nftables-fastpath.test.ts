import type { SetElementOp } from '@sipwall/nftables-napi';
import { describe, expect, it } from 'vitest';
import { fakeNftablesContext, pinholeSpec as spec } from '../../../test/media/fake-nftables.js';
import { encodeValue } from './nft-elements.js';
import { createNftablesDriver } from './nftables.js';

/**
 * The driver's batches through the binding's netlink fast path (`setElements`), with a context
 * that records every batch and fails those holding a marked op, as the kernel does (a failed batch
 * applies nothing). The text path's batches: nftables-batch.test.ts; the real kernel:
 * agent/test/media/nftables-fastpath.test.ts and nftables-driver.test.ts.
 */
const fastContext = (
  failOp: (op: SetElementOp, i: number, ops: readonly SetElementOp[]) => boolean = () => false,
) => fakeNftablesContext({ failOp });

function driverWith(rec: ReturnType<typeof fastContext>, fastPath?: boolean) {
  const driver = createNftablesDriver({
    portMin: 30000,
    portMax: 40000,
    context: rec.ctx,
    ...(fastPath === undefined ? {} : { fastPath }),
  });
  rec.runs.length = 0; // the base ruleset
  return driver;
}

const summary = (ops: readonly SetElementOp[]) => ops.map((o) => `${o.del ? '-' : '+'}${o.set}`);

describe('kernel driver batches through setElements', () => {
  it('sends the opens and closes of one turn as one setElements batch, and no libnftables run', async () => {
    const rec = fastContext();
    const driver = driverWith(rec);
    await Promise.all([0, 1, 2].map((i) => driver.open([spec(i)])));
    expect(rec.runs).toEqual([]);
    expect(rec.batches).toHaveLength(1);
    const opened = rec.batches[0]!;
    expect(summary(opened).filter((s) => s === '+media_pin')).toHaveLength(3);
    expect(opened.every((o) => !o.del && o.timeoutMs === 60_000)).toBe(true);
    expect(opened.find((o) => o.set === 'media_pin')?.comment).toBe('call-0/0/rtp');

    await driver.close(['call-0/0/rtp']);
    expect(rec.batches).toHaveLength(2);
    // plain deletes of the pinhole's elements, then add-then-delete of its busy element
    const closed = summary(rec.batches[1]!);
    expect(closed.slice(-2)).toEqual(['+media_busy', '-media_busy']);
    expect(closed.slice(0, -2).every((s) => s.startsWith('-'))).toBe(true);
    expect(closed.slice(0, -2)).toHaveLength(opened.length / 3);
  });

  it('a failing operation fails alone: the batch, then each operation on its own', async () => {
    const bad = encodeValue(['ipv4_addr', 'inet_service'], '203.0.113.10 . 7999');
    const rec = fastContext((o) => o.data !== undefined && Buffer.from(o.data).equals(bad));
    const driver = driverWith(rec);
    const results = await Promise.allSettled([
      driver.open([spec(1)]),
      driver.open([spec(2, 7999)]),
      driver.open([spec(3)]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ errno: 2 });
    expect(rec.batches).toHaveLength(4);
    expect(driver.openPinholes().map((p) => p.id)).toEqual(['call-1/0/rtp', 'call-3/0/rtp']);
  });

  it('a close whose elements expired falls back to remove-if-present (add then delete)', async () => {
    let expired = false;
    // the pinhole's elements are gone: a delete fails unless the same batch added the element first
    const rec = fastContext(
      (o, i, ops) =>
        expired && o.del && o.set === 'media_pin' && !ops.slice(0, i).some((a) => !a.del && a.set === o.set),
    );
    const driver = driverWith(rec);
    await driver.open([spec(1)]);
    expired = true;
    await driver.close(['call-1/0/rtp']);
    expect(driver.openPinholes()).toEqual([]);
    // the batch, the close alone (plain deletes), then its fallback
    expect(rec.batches).toHaveLength(4);
    const fallback = summary(rec.batches[3]!);
    expect(fallback.indexOf('+media_pin')).toBeLessThan(fallback.indexOf('-media_pin'));
  });

  it('user-space admissions ride in the same batch', async () => {
    const rec = fastContext();
    const driver = driverWith(rec);
    driver.allowUserSpace([{ address: '203.0.113.1', port: 30001 }], 60);
    await driver.open([spec(0)]);
    expect(rec.batches).toHaveLength(1);
    expect(summary(rec.batches[0]!)[0]).toBe('+media_user4');
  });

  it('uses libnftables text when told not to use the fast path', async () => {
    const rec = fastContext();
    const driver = driverWith(rec, false);
    await driver.open([spec(0)]);
    expect(rec.batches).toEqual([]);
    expect(rec.runs[0]).toMatch(/^add element inet sipwall media_pin/);
  });
});
