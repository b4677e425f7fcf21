import { createSocket, type Socket } from 'node:dgram';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { isAgentError } from '../../src/errors.js';
import {
  RELATCH_SILENCE_MS,
  RelayPinholeDriver,
  type RelayDriverOptions,
  type RelaySideName,
} from '../../src/media/drivers/relay.js';
import type { Endpoint, PinholeSpec } from '../../src/media/types.js';
import { ManualClock } from '../../src/util/clock.js';

const RELAY = '127.0.0.1';
const A_HOST = '127.0.0.2';
const B_HOST = '127.0.0.3';
const SPRAYER_HOST = '127.0.0.4';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

interface Got {
  readonly data: string;
  readonly from: Endpoint;
}

/** A party: a socket on loopback that records what it receives and from where. */
interface Party {
  readonly socket: Socket;
  readonly ep: Endpoint;
  readonly got: Got[];
  send(to: Endpoint, data: string): void;
}

async function party(address: string): Promise<Party> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, address, r));
  const got: Got[] = [];
  socket.on('message', (m, r) =>
    got.push({ data: m.toString('latin1'), from: { address: r.address, port: r.port } }),
  );
  cleanup.push(() => new Promise<void>((r) => socket.close(() => r())));
  return {
    socket,
    ep: { address, port: socket.address().port },
    got,
    send: (to, data) => socket.send(data, to.port, to.address),
  };
}

/** A port that was free a moment ago (bound on port 0, then released). */
async function freePort(address = RELAY): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, address, r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const settle = (ms = 80) => new Promise((r) => setTimeout(r, ms));

function driver(options: Partial<RelayDriverOptions> = {}): RelayPinholeDriver {
  const d = new RelayPinholeDriver({ logger: pino({ level: 'silent' }), ...options });
  cleanup.push(() => d.dispose());
  return d;
}

async function spec(id: string, aPeer: Endpoint, bPeer: Endpoint, timeoutSec = 30): Promise<PinholeSpec> {
  return {
    id,
    a: { local: { address: RELAY, port: await freePort() }, peer: aPeer },
    b: { local: { address: RELAY, port: await freePort() }, peer: bPeer },
    timeoutSec,
  };
}

/** a ↔ relay ↔ b with both parties sending from exactly their SDP endpoints. */
async function call(options: Partial<RelayDriverOptions> = {}, id = 'call-1/0/rtp') {
  const d = driver(options);
  const a = await party(A_HOST);
  const b = await party(B_HOST);
  const s = await spec(id, a.ep, b.ep);
  await d.open([s]);
  return { d, a, b, s };
}

async function counters(d: RelayPinholeDriver, id: string) {
  return (await d.counters([id])).get(id);
}

describe('relay driver: forwarding', () => {
  it('carries media both ways, from the agent’s own endpoints, and counts it', async () => {
    const { d, a, b, s } = await call();
    a.send(s.a.local, 'hello-b');
    await until(() => b.got.length === 1);
    expect(b.got[0]).toEqual({ data: 'hello-b', from: s.b.local });
    b.send(s.b.local, 'hi-a!');
    await until(() => a.got.length === 1);
    expect(a.got[0]).toEqual({ data: 'hi-a!', from: s.a.local });
    for (let i = 0; i < 5; i++) a.send(s.a.local, 'x'.repeat(160));
    await until(() => b.got.length === 6);
    expect(await counters(d, s.id)).toEqual({
      aToB: { packets: 6, bytes: 7 + 5 * 160 },
      bToA: { packets: 1, bytes: 5 },
      dropped: 0,
    });
    expect(d.kind).toBe('relay');
  });

  it('latches to the source of the first datagram when the peer sends from another port than its SDP says', async () => {
    const d = driver();
    const a = await party(A_HOST);
    const b = await party(B_HOST);
    // a's SDP names port 9 (nobody there); a really sends from a.ep (behind a NAT, say).
    const s = await spec('nat/0/rtp', { address: A_HOST, port: 9 }, b.ep);
    await d.open([s]);
    a.send(s.a.local, 'from-nat');
    await until(() => b.got.length === 1);
    b.send(s.b.local, 'reply');
    await until(() => a.got.length === 1);
    expect(a.got[0]).toEqual({ data: 'reply', from: s.a.local });
  });

  it('sends nothing towards a side whose SDP names no usable peer until that side latches', async () => {
    const d = driver();
    const a = await party(A_HOST);
    const b = await party(B_HOST);
    const s = await spec('hold/0/rtp', { address: '0.0.0.0', port: 0 }, b.ep);
    await d.open([s]);
    b.send(s.b.local, 'lost');
    await settle();
    expect((await counters(d, s.id))?.bToA.packets).toBe(0);
    a.send(s.a.local, 'latch');
    await until(() => b.got.length === 1);
    b.send(s.b.local, 'now');
    await until(() => a.got.length === 1);
    expect(a.got[0]?.data).toBe('now');
  });
});

describe('relay driver: strict source', () => {
  it('drops and counts a third party spraying a live port; the real flow keeps working', async () => {
    const { d, a, b, s } = await call();
    const sprayer = await party(SPRAYER_HOST);
    a.send(s.a.local, 'real-1');
    b.send(s.b.local, 'real-back-1');
    await until(() => b.got.length === 1 && a.got.length === 1);
    for (let i = 0; i < 20; i++) {
      sprayer.send(s.a.local, `spray-${i}`);
      sprayer.send(s.b.local, `spray-b-${i}`);
    }
    await settle();
    a.send(s.a.local, 'real-2');
    b.send(s.b.local, 'real-back-2');
    await until(() => b.got.length === 2 && a.got.length === 2);
    await settle();
    expect(b.got.map((g) => g.data)).toEqual(['real-1', 'real-2']);
    expect(a.got.map((g) => g.data)).toEqual(['real-back-1', 'real-back-2']);
    expect(sprayer.got).toEqual([]);
    expect(await counters(d, s.id)).toEqual({
      aToB: { packets: 2, bytes: 12 },
      bToA: { packets: 2, bytes: 22 },
      dropped: 40,
    });
  });

  it('lets another source take over only after the latched one was silent for the relatch time', async () => {
    const clock = new ManualClock(1_000_000);
    const d = driver({ clock });
    const a = await party(A_HOST);
    const b = await party(B_HOST);
    // a sends from another port than its SDP names (a NAT): its latch is not the hint's.
    const s = await spec('moved/0/rtp', { address: A_HOST, port: 9 }, b.ep);
    await d.open([s]);
    const mover = await party(A_HOST); // a's phone after it moved its media to another port
    a.send(s.a.local, 'before');
    await until(() => b.got.length === 1);
    clock.advance(RELATCH_SILENCE_MS - 500);
    mover.send(s.a.local, 'too-early');
    await settle();
    expect(b.got.length).toBe(1);
    expect((await counters(d, s.id))?.dropped).toBe(1);
    clock.advance(1000);
    mover.send(s.a.local, 'after-silence');
    await until(() => b.got.length === 2);
    b.send(s.b.local, 'to-mover');
    await until(() => mover.got.length === 1);
    // the old source is now the stranger
    a.send(s.a.local, 'old-source');
    await settle();
    expect(b.got.map((g) => g.data)).toEqual(['before', 'after-silence']);
    expect((await counters(d, s.id))?.dropped).toBe(2);
    expect(a.got).toEqual([]);
  });

  it('hands a port latched by a stranger to the party its SDP names, at once', async () => {
    const { d, a, b, s } = await call();
    const sprayer = await party(SPRAYER_HOST);
    sprayer.send(s.a.local, 'raced-first');
    await until(() => b.got.length === 1);
    a.send(s.a.local, 'real');
    await until(() => b.got.length === 2);
    sprayer.send(s.a.local, 'again');
    b.send(s.b.local, 'answer');
    await until(() => a.got.length === 1);
    await settle();
    expect(b.got.map((g) => g.data)).toEqual(['raced-first', 'real']);
    expect(sprayer.got).toEqual([]);
    expect((await counters(d, s.id))?.dropped).toBe(1);
  });
});

describe('relay driver: lifecycle', () => {
  it('close stops forwarding at once and releases the ports', async () => {
    const { d, a, b, s } = await call();
    a.send(s.a.local, 'one');
    await until(() => b.got.length === 1);
    await d.close([s.id, 'unknown-id']);
    a.send(s.a.local, 'two');
    b.send(s.b.local, 'three');
    await settle();
    expect(b.got.length).toBe(1);
    expect(a.got.length).toBe(0);
    expect((await d.counters([s.id])).size).toBe(0);
    // the ports are free again
    const again = createSocket('udp4');
    await new Promise<void>((r) => again.bind(s.a.local.port, RELAY, r));
    await new Promise<void>((r) => again.close(() => r()));
  });

  it('close wins over a refresh of the same pinhole that is still binding', async () => {
    const { d, a, b, s } = await call();
    const moved = { ...s, b: { local: { address: RELAY, port: await freePort() }, peer: s.b.peer } };
    const refreshing = d.open([moved]);
    const closing = d.close([s.id]);
    a.send(s.a.local, 'after-close');
    await Promise.all([refreshing, closing]);
    await settle();
    expect(b.got).toEqual([]);
    expect(d.size).toBe(0);
    // the refresh's new socket was released too
    const probe = createSocket('udp4');
    await new Promise<void>((r) => probe.bind(moved.b.local.port, RELAY, r));
    await new Promise<void>((r) => probe.close(() => r()));
  });

  it('closes a pinhole idle for timeoutSec on its own, and not one with traffic', async () => {
    const clock = new ManualClock(0);
    const expired: string[] = [];
    const d = driver({ clock, onExpire: (id) => expired.push(id) });
    const a = await party(A_HOST);
    const b = await party(B_HOST);
    const idle = await spec('idle/0/rtp', a.ep, b.ep, 2);
    const busy = await spec('busy/0/rtp', { address: A_HOST, port: 9 }, b.ep, 2);
    await d.open([idle, busy]);
    for (let t = 0; t < 8; t++) {
      a.send(busy.a.local, `keep-${t}`);
      await until(() => b.got.length > t);
      clock.advance(500);
    }
    expect(expired).toEqual([idle.id]);
    expect([...(await d.counters([idle.id, busy.id])).keys()]).toEqual([busy.id]);
    a.send(idle.a.local, 'after-expiry');
    await settle();
    expect(b.got.map((g) => g.data)).not.toContain('after-expiry');
  });

  it('a refresh (open again) keeps an idle pinhole alive', async () => {
    const clock = new ManualClock(0);
    const d = driver({ clock });
    const s = await spec('refreshed/0/rtp', { address: A_HOST, port: 9 }, { address: B_HOST, port: 9 }, 2);
    await d.open([s]);
    for (let i = 0; i < 4; i++) {
      clock.advance(1500);
      await d.open([s]);
    }
    expect(d.size).toBe(1);
    clock.advance(2500);
    expect(d.size).toBe(0);
  });

  it('does not expire a pinhole while a refresh of it is binding', async () => {
    const clock = new ManualClock(0);
    const d = driver({ clock });
    const a = await party(A_HOST);
    const b = await party(B_HOST);
    const s = await spec('racing/0/rtp', a.ep, b.ep, 1);
    await d.open([s]);
    a.send(s.a.local, 'counted');
    await until(() => b.got.length === 1);
    const moved = { ...s, b: { local: { address: RELAY, port: await freePort() }, peer: s.b.peer } };
    const refreshing = d.open([moved]);
    for (let i = 0; i < 5; i++) await Promise.resolve(); // the refresh is binding now
    clock.advance(5000); // the sweep runs meanwhile, far past the timeout
    await refreshing;
    // the same pinhole, refreshed: counters kept
    expect((await counters(d, s.id))?.aToB.packets).toBe(1);
    clock.advance(1500);
    expect(d.size).toBe(0);
  });

  it('reconcile closes what is not live and says how many', async () => {
    const d = driver();
    const ep = { address: B_HOST, port: 9 };
    const specs = await Promise.all(['s1/0/rtp', 's1/0/rtcp', 's2/0/rtp'].map((id) => spec(id, ep, ep)));
    await d.open(specs);
    expect(await d.reconcile(new Set(['s1/0/rtp', 'not-held']))).toBe(2);
    expect([...(await d.counters(specs.map((x) => x.id))).keys()]).toEqual(['s1/0/rtp']);
    expect(await d.reconcile(new Set(['s1/0/rtp']))).toBe(0);
  });

  it('a refresh with a new peer resets the latch to the new hint and keeps the sockets', async () => {
    const { d, a, b, s } = await call();
    a.send(s.a.local, 'first');
    await until(() => b.got.length === 1);
    const a2 = await party(A_HOST); // re-INVITE: a's media moved to a2
    await d.open([{ ...s, a: { local: s.a.local, peer: a2.ep } }]);
    b.send(s.b.local, 'to-new-hint');
    await until(() => a2.got.length === 1);
    expect(a2.got[0]).toEqual({ data: 'to-new-hint', from: s.a.local });
    a2.send(s.a.local, 'from-a2');
    await until(() => b.got.length === 2);
    expect(a.got).toEqual([]);
    // counters survive the refresh
    expect((await counters(d, s.id))?.aToB.packets).toBe(2);
  });

  it('a refresh with a new local endpoint rebinds that side and frees the old port', async () => {
    const { d, a, b, s } = await call();
    const moved = { ...s, b: { local: { address: RELAY, port: await freePort() }, peer: s.b.peer } };
    await d.open([moved]);
    a.send(s.a.local, 'via-new-b');
    await until(() => b.got.length === 1);
    expect(b.got[0]?.from).toEqual(moved.b.local);
    b.send(moved.b.local, 'back');
    await until(() => a.got.length === 1);
    const old = createSocket('udp4');
    await new Promise<void>((r) => old.bind(s.b.local.port, RELAY, r));
    await new Promise<void>((r) => old.close(() => r()));
  });
});

describe('relay driver: errors', () => {
  it('rejects open with an error naming the endpoint when a port is taken, and opens nothing of the batch', async () => {
    const d = driver();
    const squatter = await party(RELAY);
    const peer = { address: B_HOST, port: 9 };
    const good = await spec('good/0/rtp', peer, peer);
    const bad: PinholeSpec = { ...(await spec('bad/0/rtp', peer, peer)), b: { local: squatter.ep, peer } };
    const err = await d.open([good, bad]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isAgentError(err) && err.code).toBe('AGENT_ERR_RELAY_BIND');
    expect(String((err as Error).message)).toContain(`${RELAY}:${squatter.ep.port}`);
    expect(String((err as Error).message)).toContain('EADDRINUSE');
    expect(d.size).toBe(0);
    // the good pinhole's ports were released too
    const probe = createSocket('udp4');
    await new Promise<void>((r) => probe.bind(good.a.local.port, RELAY, r));
    await new Promise<void>((r) => probe.close(() => r()));
  });

  it('rejects malformed specs with a typed error', async () => {
    const d = driver();
    const peer = { address: B_HOST, port: 9 };
    const ok = await spec('x/0/rtp', peer, peer);
    const cases: PinholeSpec[] = [
      { ...ok, timeoutSec: 0 },
      { ...ok, a: { ...ok.a, local: { address: 'relay.example', port: 4000 } } },
      { ...ok, a: { ...ok.a, local: { address: RELAY, port: 0 } } },
      { ...ok, b: { ...ok.b, peer: { address: '::1', port: 4000 } } },
      { ...ok, b: { ...ok.b, local: ok.a.local } },
    ];
    for (const c of cases) {
      await expect(d.open([c])).rejects.toMatchObject({ code: 'AGENT_ERR_RELAY_SPEC' });
    }
    await expect(d.open([ok, ok])).rejects.toMatchObject({ code: 'AGENT_ERR_RELAY_SPEC' });
    expect(d.size).toBe(0);
  });
});

describe('relay driver: RTCP tap', () => {
  it('hands forwarded datagrams of RTCP pinholes to onRtcp with the sending side', async () => {
    const seen: Array<{ id: string; side: RelaySideName; data: string }> = [];
    const onRtcp = (id: string, side: RelaySideName, packet: Buffer) =>
      seen.push({ id, side, data: packet.toString('latin1') });
    const d = driver({ onRtcp });
    const a = await party(A_HOST);
    const b = await party(B_HOST);
    const rtcp = await spec('c/0/rtcp', a.ep, b.ep);
    const rtp = await spec('c/0/rtp', a.ep, b.ep);
    await d.open([rtcp, rtp]);
    a.send(rtcp.a.local, 'sr-from-a');
    await until(() => b.got.length === 1);
    b.send(rtcp.b.local, 'rr-from-b');
    a.send(rtp.a.local, 'rtp-not-tapped');
    await until(() => a.got.length === 1 && b.got.length === 2);
    expect(seen).toEqual([
      { id: 'c/0/rtcp', side: 'a', data: 'sr-from-a' },
      { id: 'c/0/rtcp', side: 'b', data: 'rr-from-b' },
    ]);
  });
});
