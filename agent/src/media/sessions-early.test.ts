/**
 * Early media and forked early dialogs in the session layer, with the real relay driver and real
 * UDP on loopback: the inside interface is 127.0.0.1, the outside 127.0.0.2, the inside phone
 * (the caller) 127.0.0.5, two outside forks of the callee 127.0.0.6 and 127.0.0.7.
 *
 * - `earlyMedia: answer` (default): nothing is open at the offer; the first 18x with SDP opens the
 *   stream both ways.
 * - `earlyMedia: offer`: the offer opens the callee → caller direction at once (the callee's early
 *   packets to the advertised port reach the caller), the caller → callee direction waits for
 *   the answer; CANCEL closes everything.
 * - Forks: each 18x with SDP from another early dialog (To-tag) takes the stream (last answer
 *   wins, the other fork's packets are dropped); the 2xx fixes the stream on its dialog's answer,
 *   with or without SDP in it; a re-INVITE in the confirmed dialog still moves media; a fork's
 *   failure before the 2xx gives the stream back to the latest early answer left.
 */
import { createSocket, type Socket } from 'node:dgram';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { InterfaceMap, type ProxyInterface } from '../proxy/interfaces.js';
import { createResponse } from '../sip/build.js';
import { setBody, setHeader } from '../sip/edit.js';
import type { SipMessage, SipRequest } from '../sip/message.js';
import { parseMessage } from '../sip/parse.js';
import { createSystemClock } from '../util/clock.js';
import { createRandomPool } from '../util/random-pool.js';
import { RelayPinholeDriver } from './drivers/relay.js';
import { PortAllocator } from './ports.js';
import { type EarlyMediaPolicy, MediaSessions } from './sessions.js';
import type { PinholeDriver, PinholeSpec } from './types.js';

const logger = pino({ level: 'silent' });
const PHONE = '127.0.0.5';
const FORK1 = '127.0.0.6';
const FORK2 = '127.0.0.7';

const map = new InterfaceMap(
  [
    { name: 'inside', role: 'inside', address: '127.0.0.1', networks: ['127.0.0.5/32'] },
    { name: 'outside', role: 'outside', address: '127.0.0.2', networks: [] },
  ],
  [],
);
const inside = map.get('inside') as ProxyInterface;
const outside = map.get('outside') as ProxyInterface;
const OUT = { callId: 'call-e', from: inside, to: outside };
const BACK = { callId: 'call-e', from: outside, to: inside };

function sdp(address: string, port: number, version = 1): string {
  return (
    `v=0\r\no=- 1 ${version} IN IP4 ${address}\r\ns=-\r\nc=IN IP4 ${address}\r\nt=0 0\r\n` +
    `m=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=rtcp-mux\r\n`
  );
}

function invite(body: string, toTag?: string, method = 'INVITE'): SipRequest {
  const to = toTag === undefined ? '<sip:bob@example.com>' : `<sip:bob@example.com>;tag=${toTag}`;
  const text =
    `${method} sip:bob@example.com SIP/2.0\r\n` +
    'Via: SIP/2.0/UDP 127.0.0.5:5060;branch=z9hG4bK-early-1\r\n' +
    'Max-Forwards: 70\r\n' +
    `To: ${to}\r\n` +
    'From: <sip:alice@example.com>;tag=a1\r\n' +
    'Call-ID: call-e\r\n' +
    `CSeq: ${toTag === undefined ? 1 : 2} ${method}\r\n` +
    'Contact: <sip:alice@127.0.0.5:5060>\r\n' +
    'Content-Type: application/sdp\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const r = parseMessage(Buffer.from(text));
  if (!r.ok || r.value.kind !== 'request') throw new Error('test INVITE did not parse');
  return r.value;
}

/** A response to `req` from the early dialog `tag`, with an SDP body or none. */
function answer(req: SipRequest, status: number, tag: string, body?: string): SipMessage {
  const r = createResponse(req, status, status === 200 ? 'OK' : 'Session Progress', { toTag: tag });
  if (body === undefined) return r;
  return setBody(setHeader(r, 'Content-Type', 'application/sdp'), Buffer.from(body));
}

function portOf(m: SipMessage | number): number {
  if (typeof m === 'number') throw new Error(`refused with ${m}`);
  return Number(/^m=audio (\d+)/m.exec(m.body.toString('latin1'))?.[1]);
}

async function bound(address: string): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, address, r));
  return s;
}

/** The datagrams a socket receives within `ms`, as `data@from`. */
function collect(s: Socket, ms = 250): Promise<string[]> {
  return new Promise((resolve) => {
    const got: string[] = [];
    const on = (d: Buffer, r: { address: string; port: number }) =>
      got.push(`${d.toString()}@${r.address}:${r.port}`);
    s.on('message', on);
    setTimeout(() => {
      s.removeListener('message', on);
      resolve(got);
    }, ms);
  });
}

interface Rig {
  sessions: MediaSessions;
  driver: RelayPinholeDriver;
  /** Every `open` batch the session layer gave the (real) driver. */
  opened: PinholeSpec[][];
  sockets: Socket[];
}

let rig: Rig | undefined;

async function setUp(earlyMedia: EarlyMediaPolicy): Promise<Rig> {
  const clock = createSystemClock();
  const relay = new RelayPinholeDriver({ logger, clock });
  const opened: PinholeSpec[][] = [];
  const driver: PinholeDriver = {
    kind: relay.kind,
    open: (specs) => {
      opened.push([...specs]);
      return relay.open(specs);
    },
    close: (ids) => relay.close(ids),
    counters: (ids) => relay.counters(ids),
    reconcile: (live) => relay.reconcile(live),
    dispose: () => relay.dispose(),
  };
  const random = createRandomPool();
  const allocators = new Map<string, PortAllocator>();
  const sessions = new MediaSessions({
    driver,
    clock,
    logger,
    settings: { pinholeTimeoutSec: 3600, maxSessionSec: 3600, earlyMedia, earlyPinholeTimeoutSec: 120 },
    ports: (iface) => {
      let a = allocators.get(iface.address);
      if (a === undefined) {
        a = new PortAllocator(
          { address: iface.address, portMin: 43_000, portMax: 43_999 },
          { clock, random },
        );
        allocators.set(iface.address, a);
      }
      return a;
    },
  });
  rig = { sessions, driver: relay, opened, sockets: [] };
  return rig;
}

async function parties(r: Rig) {
  const phone = await bound(PHONE);
  const fork1 = await bound(FORK1);
  const fork2 = await bound(FORK2);
  r.sockets.push(phone, fork1, fork2);
  return { phone, fork1, fork2 };
}

afterEach(async () => {
  if (rig === undefined) return;
  rig.sessions.stop();
  await rig.driver.reconcile(new Set());
  await rig.driver.dispose();
  for (const s of rig.sockets) s.close();
  rig = undefined;
});

const settle = () => new Promise((r) => setTimeout(r, 80));

describe('early media (relay driver, loopback)', () => {
  it('answer policy: nothing open at the offer; the first 18x with SDP opens both ways, latching kept', async () => {
    const r = await setUp('answer');
    const { phone, fork1 } = await parties(r);
    const inv = invite(sdp(PHONE, phone.address().port));
    const offerPort = portOf(r.sessions.onSdp(inv, OUT));
    await settle();
    expect(r.driver.size).toBe(0);
    const before = collect(phone);
    fork1.send('too-early', offerPort, '127.0.0.2');
    expect(await before).toEqual([]);

    const answerPort = portOf(
      r.sessions.onSdp(answer(inv, 183, 'f1', sdp(FORK1, fork1.address().port)), BACK),
    );
    await settle();
    expect(r.opened.at(-1)?.map((s) => [s.a.accept, s.b.accept])).toEqual([['any', 'any']]);
    const toPhone = collect(phone);
    fork1.send('ringback', offerPort, '127.0.0.2');
    expect(await toPhone).toEqual([`ringback@127.0.0.1:${answerPort}`]);
    const toFork = collect(fork1);
    phone.send('hello', answerPort, '127.0.0.1');
    expect(await toFork).toEqual([`hello@127.0.0.2:${offerPort}`]);
  });

  it('offer policy: the callee’s early packets reach the caller before any answer; the caller’s wait; CANCEL closes', async () => {
    const r = await setUp('offer');
    const { phone, fork1 } = await parties(r);
    const inv = invite(sdp(PHONE, phone.address().port));
    const offerPort = portOf(r.sessions.onSdp(inv, OUT));
    await settle();
    // Half-open: into the callee's side (latching), nothing into the caller's, a short safety net.
    const half = r.opened[0]?.[0];
    expect(half?.a.accept).toBe('none');
    expect(half?.a.peer).toEqual({ address: PHONE, port: phone.address().port });
    expect(half?.b.accept).toBe('any');
    expect(half?.b.peer).toEqual({ address: '0.0.0.0', port: 0 });
    expect(half?.timeoutSec).toBe(120);
    const callerPort = half?.a.local.port;

    const toPhone = collect(phone);
    fork1.send('early-tone', offerPort, '127.0.0.2');
    expect(await toPhone).toEqual([`early-tone@127.0.0.1:${callerPort}`]);
    // The caller → callee direction is not open: the callee's address is not known from any SDP.
    const toFork = collect(fork1);
    phone.send('not-yet', callerPort ?? 0, '127.0.0.1');
    expect(await toFork).toEqual([]);

    // The 183 reuses the caller-side port the offer opened, and opens the other direction.
    const answerPort = portOf(
      r.sessions.onSdp(answer(inv, 183, 'f1', sdp(FORK1, fork1.address().port)), BACK),
    );
    expect(answerPort).toBe(callerPort);
    await settle();
    expect(r.opened.at(-1)?.[0]?.timeoutSec).toBe(3600);
    const toFork2 = collect(fork1);
    phone.send('now', answerPort, '127.0.0.1');
    expect(await toFork2).toEqual([`now@127.0.0.2:${offerPort}`]);

    // CANCEL (the call ends before a 2xx): every pinhole goes, nothing flows any more.
    r.sessions.onCallEnded('call-e', 'a1');
    await settle();
    expect(r.driver.size).toBe(0);
    const after = collect(phone);
    fork1.send('after-cancel', offerPort, '127.0.0.2');
    expect(await after).toEqual([]);
  });

  it('offer policy: a CANCEL before any answer closes the half-open pinhole', async () => {
    const r = await setUp('offer');
    const { phone, fork1 } = await parties(r);
    const offerPort = portOf(r.sessions.onSdp(invite(sdp(PHONE, phone.address().port)), OUT));
    await settle();
    expect(r.driver.size).toBe(1);
    r.sessions.onCallEnded('call-e', 'a1');
    await settle();
    expect(r.driver.size).toBe(0);
    const after = collect(phone);
    fork1.send('after-cancel', offerPort, '127.0.0.2');
    expect(await after).toEqual([]);
  });
});

describe('forked early dialogs (relay driver, loopback)', () => {
  for (const policy of ['answer', 'offer'] as const) {
    it(`${policy} policy: the last answer wins, a 2xx without SDP fixes the first fork, a re-INVITE still moves media`, async () => {
      const r = await setUp(policy);
      const { phone, fork1, fork2 } = await parties(r);
      const inv = invite(sdp(PHONE, phone.address().port));
      const offerPort = portOf(r.sessions.onSdp(inv, OUT));
      const p1 = portOf(r.sessions.onSdp(answer(inv, 183, 'f1', sdp(FORK1, fork1.address().port)), BACK));
      await settle();
      // One early dialog: latching as before.
      expect(r.opened.at(-1)?.[0]?.b.accept).toBe('any');
      const heard1 = collect(phone);
      fork1.send('tone-1', offerPort, '127.0.0.2');
      expect(await heard1).toEqual([`tone-1@127.0.0.1:${p1}`]);

      // A second fork answers (another To-tag): the caller now hears fork 2, and only fork 2.
      const p2 = portOf(r.sessions.onSdp(answer(inv, 183, 'f2', sdp(FORK2, fork2.address().port)), BACK));
      expect(p2).toBe(p1);
      await settle();
      const spec = r.opened.at(-1)?.[0];
      expect(spec?.b.accept).toBe('peer');
      expect(spec?.b.peer).toEqual({ address: FORK2, port: fork2.address().port });
      const heard2 = collect(phone);
      fork1.send('tone-1-again', offerPort, '127.0.0.2');
      fork2.send('tone-2', offerPort, '127.0.0.2');
      expect(await heard2).toEqual([`tone-2@127.0.0.1:${p1}`]);
      const to2 = collect(fork2);
      const to1 = collect(fork1);
      phone.send('to-winner', p1, '127.0.0.1');
      expect(await to2).toEqual([`to-winner@127.0.0.2:${offerPort}`]);
      expect(await to1).toEqual([]);

      // Fork 1 answers 200 without SDP (its answer was in its 183): the stream goes back to fork 1.
      r.sessions.onSdp(answer(inv, 200, 'f1'), BACK);
      await settle();
      expect(r.opened.at(-1)?.[0]?.b.peer).toEqual({ address: FORK1, port: fork1.address().port });
      const heard3 = collect(phone);
      fork2.send('loser', offerPort, '127.0.0.2');
      fork1.send('winner', offerPort, '127.0.0.2');
      expect(await heard3).toEqual([`winner@127.0.0.1:${p1}`]);
      const counters = await r.driver.counters([`${r.opened.at(-1)?.[0]?.id}`]);
      expect([...counters.values()][0]?.dropped).toBeGreaterThanOrEqual(2);
      // Later 18x/2xx retransmissions of the losing fork change nothing any more.
      r.sessions.onSdp(answer(inv, 183, 'f2', sdp(FORK2, fork2.address().port)), BACK);
      await settle();
      const heard4 = collect(phone);
      fork2.send('loser-again', offerPort, '127.0.0.2');
      fork1.send('winner-again', offerPort, '127.0.0.2');
      expect((await heard4).sort()).toContain(`winner-again@127.0.0.1:${p1}`);

      // A re-INVITE in the confirmed dialog moves fork 1's media to another port.
      const moved = await bound(FORK1);
      r.sockets.push(moved);
      const reinvite = invite(sdp(FORK1, moved.address().port, 2), 'a1');
      const reoffered = portOf(r.sessions.onSdp(reinvite, BACK));
      expect(reoffered).toBe(p1);
      await settle();
      const toMoved = collect(moved);
      phone.send('after-reinvite', p1, '127.0.0.1');
      expect(await toMoved).toEqual([`after-reinvite@127.0.0.2:${offerPort}`]);

      // An UPDATE from the caller moves the caller's media too (same ports on the agent).
      const phone2 = await bound(PHONE);
      r.sockets.push(phone2);
      const update = invite(sdp(PHONE, phone2.address().port, 2), 'f1', 'UPDATE');
      expect(portOf(r.sessions.onSdp(update, OUT))).toBe(offerPort);
      await settle();
      const toPhone2 = collect(phone2);
      moved.send('after-update', offerPort, '127.0.0.2');
      expect(await toPhone2).toEqual([`after-update@127.0.0.1:${p1}`]);
    });
  }

  it('a 200 with SDP from the second fork fixes the call on it; the first fork stays shut out', async () => {
    const r = await setUp('answer');
    const { phone, fork1, fork2 } = await parties(r);
    const inv = invite(sdp(PHONE, phone.address().port));
    const offerPort = portOf(r.sessions.onSdp(inv, OUT));
    r.sessions.onSdp(answer(inv, 183, 'f1', sdp(FORK1, fork1.address().port)), BACK);
    r.sessions.onSdp(answer(inv, 183, 'f2', sdp(FORK2, fork2.address().port)), BACK);
    const p = portOf(r.sessions.onSdp(answer(inv, 200, 'f2', sdp(FORK2, fork2.address().port)), BACK));
    // Fork 1's late 183 after the 2xx is not an early answer any more: it does not take the stream.
    r.sessions.onSdp(answer(inv, 183, 'f1', sdp(FORK1, fork1.address().port)), BACK);
    await settle();
    const heard = collect(phone);
    fork1.send('loser', offerPort, '127.0.0.2');
    fork2.send('winner', offerPort, '127.0.0.2');
    expect(await heard).toEqual([`winner@127.0.0.1:${p}`]);
    const rows = await r.sessions.rows();
    expect(rows[0]?.streams[0]?.sides.find((s) => s.interface === 'outside')?.peer).toEqual({
      address: FORK2,
      port: fork2.address().port,
    });
  });
  for (const policy of ['answer', 'offer'] as const) {
    it(`${policy} policy: the fork that answered last fails, the stream goes back to the fork still ringing`, async () => {
      const r = await setUp(policy);
      const { phone, fork1, fork2 } = await parties(r);
      const inv = invite(sdp(PHONE, phone.address().port));
      const offerPort = portOf(r.sessions.onSdp(inv, OUT));
      const p = portOf(r.sessions.onSdp(answer(inv, 183, 'f1', sdp(FORK1, fork1.address().port)), BACK));
      r.sessions.onSdp(answer(inv, 183, 'f2', sdp(FORK2, fork2.address().port)), BACK);
      await settle();
      expect(r.opened.at(-1)?.[0]?.b.peer).toEqual({ address: FORK2, port: fork2.address().port });
      const opens = r.opened.length;

      // Fork 2's branch fails (486): its early dialog is over, fork 1 still rings.
      r.sessions.onEarlyDialogEnded('call-e', 'f2');
      await settle();
      expect(r.opened.length).toBe(opens + 1);
      const spec = r.opened.at(-1)?.[0];
      expect(spec?.b.peer).toEqual({ address: FORK1, port: fork1.address().port });
      // Still forked: the answering side stays pinned to the SDP address (fork 2 cannot latch).
      expect(spec?.b.accept).toBe('peer');
      expect(spec?.a.peer).toEqual({ address: PHONE, port: phone.address().port });
      const heard = collect(phone);
      fork2.send('rejected', offerPort, '127.0.0.2');
      fork1.send('still-ringing', offerPort, '127.0.0.2');
      expect(await heard).toEqual([`still-ringing@127.0.0.1:${p}`]);
      const to1 = collect(fork1);
      const to2 = collect(fork2);
      phone.send('to-fork-1', p, '127.0.0.1');
      expect(await to1).toEqual([`to-fork-1@127.0.0.2:${offerPort}`]);
      expect(await to2).toEqual([]);
      const rows = await r.sessions.rows();
      expect(rows[0]?.streams[0]?.sides.find((s) => s.interface === 'outside')?.peer).toEqual({
        address: FORK1,
        port: fork1.address().port,
      });

      // Fork 1 answers 200 without SDP: the stream stays on it.
      r.sessions.onSdp(answer(inv, 200, 'f1'), BACK);
      await settle();
      const heard2 = collect(phone);
      fork1.send('answered', offerPort, '127.0.0.2');
      expect(await heard2).toEqual([`answered@127.0.0.1:${p}`]);
    });
  }

  it('a fork that failed without having the stream moves nothing; the last fork left failing moves nothing', async () => {
    const r = await setUp('answer');
    const { phone, fork1, fork2 } = await parties(r);
    const inv = invite(sdp(PHONE, phone.address().port));
    const offerPort = portOf(r.sessions.onSdp(inv, OUT));
    const p = portOf(r.sessions.onSdp(answer(inv, 183, 'f1', sdp(FORK1, fork1.address().port)), BACK));
    r.sessions.onSdp(answer(inv, 183, 'f2', sdp(FORK2, fork2.address().port)), BACK);
    await settle();
    const opens = r.opened.length;
    // Fork 1 (not the latest answer) fails, and a branch whose To-tag never sent SDP: nothing moves.
    r.sessions.onEarlyDialogEnded('call-e', 'f1');
    r.sessions.onEarlyDialogEnded('call-e', 'f3');
    await settle();
    expect(r.opened.length).toBe(opens);
    const heard = collect(phone);
    fork1.send('gone', offerPort, '127.0.0.2');
    fork2.send('ringing', offerPort, '127.0.0.2');
    expect(await heard).toEqual([`ringing@127.0.0.1:${p}`]);
    // Fork 2, the last early dialog, fails too: no answer left to go back to, nothing moves.
    r.sessions.onEarlyDialogEnded('call-e', 'f2');
    await settle();
    expect(r.opened.length).toBe(opens);
  });

  it('a fork that answers again is the latest answer: when the other fork fails, the stream stays on it', async () => {
    const r = await setUp('answer');
    const { phone, fork1, fork2 } = await parties(r);
    const inv = invite(sdp(PHONE, phone.address().port));
    const offerPort = portOf(r.sessions.onSdp(inv, OUT));
    const p = portOf(r.sessions.onSdp(answer(inv, 183, 'f1', sdp(FORK1, fork1.address().port)), BACK));
    r.sessions.onSdp(answer(inv, 183, 'f2', sdp(FORK2, fork2.address().port)), BACK);
    // Fork 1 answers again from another port: it has the stream (last answer wins).
    const moved = await bound(FORK1);
    r.sockets.push(moved);
    r.sessions.onSdp(answer(inv, 183, 'f1', sdp(FORK1, moved.address().port, 2)), BACK);
    // A third fork answers last, then fails: the stream goes to fork 1's latest answer, not fork 2.
    r.sessions.onSdp(answer(inv, 183, 'f3', sdp(FORK2, 9)), BACK);
    r.sessions.onEarlyDialogEnded('call-e', 'f3');
    await settle();
    expect(r.opened.at(-1)?.[0]?.b.peer).toEqual({ address: FORK1, port: moved.address().port });
    const heard = collect(phone);
    fork2.send('other-fork', offerPort, '127.0.0.2');
    moved.send('latest', offerPort, '127.0.0.2');
    expect(await heard).toEqual([`latest@127.0.0.1:${p}`]);
  });
});
