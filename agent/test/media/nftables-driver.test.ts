/**
 * The kernel media driver against real nftables and conntrack, in network namespaces of its own:
 * the driver runs in `<id>-fw` (a child process started with `ip netns exec`), real UDP goes
 * between a's peer (`<id>-a`) and b's peer (`<id>-b`). See nftables-helpers.ts for the topology.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PinholeCounters, PinholeSpec } from '../../src/media/types.js';
import { ADDR, type Datagram, type LineChild, Netns, nftSkipReason, sleep } from './nftables-helpers.js';

const skip = nftSkipReason();

function spec(id: string, aPort: number, bPort: number, bPeerPort = 5000, timeoutSec = 60): PinholeSpec {
  return {
    id,
    a: { local: { address: ADDR.aLocal, port: aPort }, peer: { address: ADDR.aPeer, port: 4000 } },
    b: { local: { address: ADDR.bLocal, port: bPort }, peer: { address: ADDR.bPeer, port: bPeerPort } },
    timeoutSec,
  };
}

const payloads = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}-${i}`);

describe.skipIf(skip)(
  `nftables kernel media driver in network namespaces${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    const net = new Netns();
    let driver: LineChild;
    let a: LineChild;
    let b: LineChild;
    let fw: LineChild;

    const send = (party: LineChild, from: string, to: string, data: string[], gapMs = 0) =>
      party.call({ op: 'send', from, to, payloads: data, gapMs });
    const take = async (party: LineChild, settleMs = 250) => {
      await sleep(settleMs);
      return party.call<Datagram[]>({ op: 'take' });
    };
    const counters = (ids: string[]) => driver.call<Record<string, PinholeCounters>>({ op: 'counters', ids });

    beforeAll(async () => {
      net.up();
      // Transparent mode's chain, as the proxy puts it there: the driver must leave it alone.
      net.exec(
        'fw',
        'nft',
        ['-f', '-'],
        'add table inet sipwall\nadd chain inet sipwall sip_redirect { type nat hook prerouting priority dstnat; policy accept; }\nadd rule inet sipwall sip_redirect udp dport 5060 counter\n',
      );
      driver = net.runner();
      const ready = await driver.ready;
      if (!ready.ready) throw new Error(`driver not ready: ${ready.reason}`);
      a = net.party('a');
      b = net.party('b');
      fw = net.party('fw');
      await Promise.all([a.ready, b.ready, fw.ready]);
      await a.call({ op: 'bind', address: ADDR.aPeer, port: 4000 });
      await a.call({ op: 'bind', address: ADDR.aIntruder, port: 6666 });
      await b.call({ op: 'bind', address: ADDR.bPeer, port: 5000 });
      await b.call({ op: 'bind', address: ADDR.bPeer, port: 5001 });
      await b.call({ op: 'bind', address: ADDR.bIntruder, port: 6666 });
      await a.call({ op: 'bind', address: ADDR.aPeer6, port: 4000 });
      await b.call({ op: 'bind', address: ADDR.bPeer6, port: 5000 });
      // Sockets on the firewall itself, in and out of the media range.
      for (const address of [ADDR.aLocal, ADDR.bLocal]) {
        await fw.call({ op: 'bind', address, port: 30010 });
        await fw.call({ op: 'bind', address, port: 29999 });
      }
    }, 60_000);

    afterAll(() => {
      net.down();
    });

    it('forwards media both ways through a pinhole, from the agent addresses only, without user space', async () => {
      await driver.call({ op: 'open', pinholes: [spec('call-1/0/rtp', 30000, 30002)] });
      const before = net.udpInDatagrams();
      await send(a, `${ADDR.aPeer}:4000`, `${ADDR.aLocal}:30000`, payloads('a2b', 100));
      const atB = await take(b);
      expect(atB).toHaveLength(100);
      expect(new Set(atB.map((d) => `${d.from}>${d.to}`))).toEqual(
        new Set([`${ADDR.bLocal}:30002>${ADDR.bPeer}:5000`]),
      );
      await send(b, `${ADDR.bPeer}:5000`, `${ADDR.bLocal}:30002`, payloads('b2a', 100));
      const atA = await take(a);
      expect(atA).toHaveLength(100);
      expect(new Set(atA.map((d) => `${d.from}>${d.to}`))).toEqual(
        new Set([`${ADDR.aLocal}:30000>${ADDR.aPeer}:4000`]),
      );
      // 200 datagrams crossed the firewall; none was delivered to a socket there.
      expect(net.udpInDatagrams() - before).toBeLessThan(5);
    });

    it('counts packets and bytes each way', async () => {
      const c = (await counters(['call-1/0/rtp', 'unknown']))['call-1/0/rtp'];
      expect(c?.aToB.packets).toBe(100);
      expect(c?.bToA.packets).toBe(100);
      expect(c?.aToB.bytes).toBeGreaterThan(100 * 28);
      expect(c?.bToA.bytes).toBeGreaterThan(100 * 28);
      expect(c?.dropped).toBe(0);
    });

    it('drops packets to a media port without a pinhole, and only those', async () => {
      const before = net.udpInDatagrams();
      await send(a, `${ADDR.aPeer}:4000`, `${ADDR.aLocal}:30010`, payloads('nohole', 5));
      await send(b, `${ADDR.bPeer}:5000`, `${ADDR.bLocal}:30010`, payloads('nohole', 5));
      // The same sockets' neighbours outside the range do receive (the path itself works).
      await send(a, `${ADDR.aPeer}:4000`, `${ADDR.aLocal}:29999`, payloads('outside', 2));
      const got = await take(fw);
      expect(got.filter((d) => d.data.startsWith('nohole'))).toEqual([]);
      expect(got.filter((d) => d.data.startsWith('outside'))).toHaveLength(2);
      expect(net.udpInDatagrams() - before).toBe(2);
      expect(await take(a, 0)).toEqual([]);
      expect(await take(b, 0)).toEqual([]);
    });

    it('drops a third party spraying a live port (strict source) while the call goes on', async () => {
      const spray = Promise.all([
        send(b, `${ADDR.bIntruder}:6666`, `${ADDR.bLocal}:30002`, payloads('sprayB', 50), 1),
        send(a, `${ADDR.aIntruder}:6666`, `${ADDR.aLocal}:30000`, payloads('sprayA', 50), 1),
      ]);
      await send(a, `${ADDR.aPeer}:4000`, `${ADDR.aLocal}:30000`, payloads('a2b-during', 20), 2);
      await send(b, `${ADDR.bPeer}:5000`, `${ADDR.bLocal}:30002`, payloads('b2a-during', 20), 2);
      await spray;
      const atA = await take(a);
      const atB = await take(b, 0);
      expect(atA.map((d) => d.data)).toEqual(payloads('b2a-during', 20));
      expect(atB.map((d) => d.data)).toEqual(payloads('a2b-during', 20));
      const c = (await counters(['call-1/0/rtp']))['call-1/0/rtp'];
      expect(c?.dropped).toBe(100);
      expect(c?.aToB.packets).toBe(120);
      expect(c?.bToA.packets).toBe(120);
    });

    it('stops the media at once on close (conntrack flushed), and a new pinhole on the same ports starts clean', async () => {
      await driver.call({ op: 'close', ids: ['call-1/0/rtp', 'never-opened'] });
      await send(a, `${ADDR.aPeer}:4000`, `${ADDR.aLocal}:30000`, payloads('after-close', 5));
      await send(b, `${ADDR.bPeer}:5000`, `${ADDR.bLocal}:30002`, payloads('after-close', 5));
      expect(await take(b)).toEqual([]);
      expect(await take(a, 0)).toEqual([]);
      const ct = net.exec('fw', 'cat', ['/proc/net/nf_conntrack']).split('\n');
      expect(ct.filter((l) => / dport=30000 .*mark=[1-9]/.test(l))).toEqual([]);
      // The same local ports for another call, whose b peer listens on another port.
      await driver.call({ op: 'open', pinholes: [spec('call-2/0/rtp', 30000, 30002, 5001)] });
      await send(a, `${ADDR.aPeer}:4000`, `${ADDR.aLocal}:30000`, payloads('call2', 5));
      const atB = await take(b);
      expect(atB.map((d) => d.to)).toEqual(Array(5).fill(`${ADDR.bPeer}:5001`));
      await driver.call({ op: 'close', ids: ['call-2/0/rtp'] });
    });

    it('refreshes a pinhole (open again) without losing its counters or flows, and follows a new peer', async () => {
      await driver.call({ op: 'open', pinholes: [spec('call-3/0/rtp', 30040, 30042, 5000, 5)] });
      await send(a, `${ADDR.aPeer}:4000`, `${ADDR.aLocal}:30040`, payloads('r1', 3));
      expect(await take(b)).toHaveLength(3);
      await driver.call({ op: 'open', pinholes: [spec('call-3/0/rtp', 30040, 30042, 5000, 60)] });
      await send(a, `${ADDR.aPeer}:4000`, `${ADDR.aLocal}:30040`, payloads('r2', 3));
      expect(await take(b)).toHaveLength(3);
      expect((await counters(['call-3/0/rtp']))['call-3/0/rtp']?.aToB.packets).toBe(6);
      const listed = net.exec('fw', 'nft', ['list', 'set', 'inet', 'sipwall', 'media_pin']);
      expect(listed).toMatch(/timeout 1m expires [0-9.ms]+ comment "call-3\/0\/rtp"/);
      // A re-INVITE moves b's party to another port: the running flow follows at once.
      await driver.call({ op: 'open', pinholes: [spec('call-3/0/rtp', 30040, 30042, 5001, 60)] });
      await send(a, `${ADDR.aPeer}:4000`, `${ADDR.aLocal}:30040`, payloads('r3', 3));
      expect((await take(b)).map((d) => d.to)).toEqual(Array(3).fill(`${ADDR.bPeer}:5001`));
      await driver.call({ op: 'close', ids: ['call-3/0/rtp'] });
    });

    it('reconcile after a kill -9 removes the strays and keeps (and adopts) the live pinholes', async () => {
      const long = `stray ${'x'.repeat(200)}@example.test`; // not a plain comment: stored hashed
      await driver.call({
        op: 'open',
        pinholes: [spec(long, 30020, 30022), spec('keep/0/rtp', 30030, 30032)],
      });
      await send(a, `${ADDR.aPeer}:4000`, `${ADDR.aLocal}:30020`, payloads('x', 2));
      await send(a, `${ADDR.aPeer}:4000`, `${ADDR.aLocal}:30030`, payloads('y', 2));
      expect(await take(b)).toHaveLength(4);
      await driver.kill9();
      driver = net.runner();
      expect((await driver.ready).ready).toBe(true);
      expect(await driver.call({ op: 'reconcile', live: ['keep/0/rtp'] })).toBe(1);
      expect(await driver.call({ op: 'held' })).toEqual([
        {
          id: 'keep/0/rtp',
          a: { address: ADDR.aLocal, port: 30030 },
          b: { address: ADDR.bLocal, port: 30032 },
        },
      ]);
      await send(a, `${ADDR.aPeer}:4000`, `${ADDR.aLocal}:30020`, payloads('x-after', 3));
      await send(a, `${ADDR.aPeer}:4000`, `${ADDR.aLocal}:30030`, payloads('y-after', 3));
      const atB = await take(b);
      expect(atB.map((d) => d.data)).toEqual(payloads('y-after', 3));
      // Adopted: counters read, close works, then nothing of the driver's stays in the kernel.
      expect((await counters(['keep/0/rtp']))['keep/0/rtp']?.aToB.packets).toBe(5);
      await driver.call({ op: 'close', ids: ['keep/0/rtp'] });
      expect(await driver.call({ op: 'reconcile', live: [] })).toBe(0);
      const ruleset = net.exec('fw', 'nft', ['-j', 'list', 'table', 'inet', 'sipwall']);
      const sets = (
        JSON.parse(ruleset) as { nftables: Array<Record<string, { name: string; elem?: unknown[] }>> }
      ).nftables
        .flatMap((o) => [o['set'], o['map']])
        .filter((s) => s !== undefined);
      expect(sets.filter((s) => (s.elem?.length ?? 0) > 0).map((s) => s.name)).toEqual([]);
    });

    it('does the same for IPv6', async () => {
      const v6: PinholeSpec = {
        id: 'call-6/0/rtp',
        a: { local: { address: ADDR.aLocal6, port: 30050 }, peer: { address: ADDR.aPeer6, port: 4000 } },
        b: { local: { address: ADDR.bLocal6, port: 30052 }, peer: { address: ADDR.bPeer6, port: 5000 } },
        timeoutSec: 60,
      };
      await driver.call({ op: 'open', pinholes: [v6] });
      await send(a, `${ADDR.aPeer6}:4000`, `${ADDR.aLocal6}:30050`, payloads('a2b6', 5));
      const atB = await take(b);
      expect(atB.map((d) => `${d.from}>${d.to}`)).toEqual(
        Array(5).fill(`${ADDR.bLocal6}:30052>${ADDR.bPeer6}:5000`),
      );
      await send(b, `${ADDR.bPeer6}:5000`, `${ADDR.bLocal6}:30052`, payloads('b2a6', 5));
      expect((await take(a)).map((d) => d.from)).toEqual(Array(5).fill(`${ADDR.aLocal6}:30050`));
      const c = (await counters([v6.id]))[v6.id];
      expect([c?.aToB.packets, c?.bToA.packets]).toEqual([5, 5]);
      await driver.call({ op: 'close', ids: [v6.id] });
      await send(a, `${ADDR.aPeer6}:4000`, `${ADDR.aLocal6}:30050`, payloads('a2b6-closed', 5));
      expect(await take(b)).toEqual([]);
    });

    it('leaves transparent mode’s sip_redirect chain alone', () => {
      const chain = net.exec('fw', 'nft', ['list', 'chain', 'inet', 'sipwall', 'sip_redirect']);
      expect(chain).toMatch(/udp dport 5060 counter/);
    });

    it('reads the counters of 200 calls in one call (libnftables crashed on one get element that large)', async () => {
      const ids = Array.from({ length: 200 }, (_, i) => `many-${i}/0/rtp`);
      await driver.call({
        op: 'open',
        pinholes: ids.map((id, i) => spec(id, 30100 + 4 * i, 30102 + 4 * i)),
      });
      try {
        const c = await counters(ids);
        expect(Object.keys(c)).toHaveLength(200);
        expect(c['many-199/0/rtp']?.aToB.packets).toBe(0);
      } finally {
        await driver.call({ op: 'close', ids });
      }
    });

    it('opens and closes 1,000 calls (RTP + RTCP) back to back and leaves nothing behind (prints p50/p99)', async () => {
      const r = await driver.call<{
        iterations: number;
        openCloseUs: { p50: number; p99: number; max: number };
        openUs: { p50: number; p99: number };
        closeUs: { p50: number; p99: number };
      }>({ op: 'bench', iterations: 1000 }, 120_000);
      // Timings are printed, not asserted: the latency target (p99 < 1 ms) is bench/media's, on an
      // idle host; here a shared CI machine's preemption would make any bound a coin toss.
      console.log(`nftables driver, open+close of 2 pinholes (${r.iterations} calls): ${JSON.stringify(r)}`);
      expect(r.iterations).toBe(1000); // each timed (after 50 untimed warm-up calls)
      const held = await driver.call<{ id: string }[]>({ op: 'held' });
      expect(held.filter((p) => p.id.startsWith('bench-'))).toEqual([]);
      const pins = net.exec('fw', 'nft', ['list', 'set', 'inet', 'sipwall', 'media_pin']);
      expect(pins).not.toMatch(/comment "bench-/);
    }, 180_000);
  },
);
