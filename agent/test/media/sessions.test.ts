/**
 * The media session layer with the real relay driver and real UDP on loopback: the inside
 * interface is 127.0.0.1, the outside 127.0.0.2, the inside phone 127.0.0.5, the outside party
 * 127.0.0.6. An offer and an answer cross the firewall as the proxy hands them over; the rewritten
 * SDPs name only the agent's addresses, media flows both ways through the anchored ports, and the
 * call's end closes them.
 */
import { createSocket, type Socket } from 'node:dgram';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { RelayPinholeDriver } from '../../src/media/drivers/relay.js';
import { PortAllocator } from '../../src/media/ports.js';
import { MediaSessions, type MediaSessionSummary } from '../../src/media/sessions.js';
import { InterfaceMap, type ProxyInterface } from '../../src/proxy/interfaces.js';
import { createResponse } from '../../src/sip/build.js';
import { setBody, setHeader } from '../../src/sip/edit.js';
import type { SipMessage } from '../../src/sip/message.js';
import { createSystemClock } from '../../src/util/clock.js';
import { createRandomPool } from '../../src/util/random-pool.js';
import { anInvite } from '../sip/builders.js';

const logger = pino({ level: 'silent' });
const PHONE = '127.0.0.5';
const PARTY = '127.0.0.6';

const map = new InterfaceMap(
  [
    { name: 'inside', role: 'inside', address: '127.0.0.1', networks: ['127.0.0.5/32'] },
    { name: 'outside', role: 'outside', address: '127.0.0.2', networks: [] },
  ],
  [],
);
const inside = map.get('inside') as ProxyInterface;
const outside = map.get('outside') as ProxyInterface;

function sdp(address: string, port: number, extra = ''): string {
  return (
    `v=0\r\no=- 1 1 IN IP4 ${address}\r\ns=-\r\nc=IN IP4 ${address}\r\nt=0 0\r\n` +
    `m=audio ${port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n${extra}`
  );
}

function mline(m: SipMessage): { address: string; port: number; text: string } {
  const text = m.body.toString('latin1');
  const c = /^c=IN IP4 (\S+)/m.exec(text)?.[1] ?? '';
  const port = Number(/^m=audio (\d+)/m.exec(text)?.[1]);
  return { address: c, port, text };
}

async function bound(address: string): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, address, r));
  return s;
}

function nextPacket(s: Socket, ms = 1000): Promise<{ data: string; from: string } | undefined> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      s.removeListener('message', on);
      resolve(undefined);
    }, ms);
    const on = (d: Buffer, r: { address: string; port: number }) => {
      clearTimeout(t);
      s.removeListener('message', on);
      resolve({ data: d.toString(), from: `${r.address}:${r.port}` });
    };
    s.on('message', on);
  });
}

interface Rig {
  sessions: MediaSessions;
  driver: RelayPinholeDriver;
  ended: MediaSessionSummary[];
  sockets: Socket[];
}

let rig: Rig | undefined;

async function setUp(portMin = 41_000, portMax = 41_999): Promise<Rig> {
  const clock = createSystemClock();
  const driver = new RelayPinholeDriver({ logger, clock });
  const random = createRandomPool();
  const allocators = new Map<string, PortAllocator>();
  const ended: MediaSessionSummary[] = [];
  const sessions = new MediaSessions({
    driver,
    clock,
    logger,
    ports: (iface) => {
      let a = allocators.get(iface.address);
      if (a === undefined) {
        a = new PortAllocator({ address: iface.address, portMin, portMax }, { clock, random });
        allocators.set(iface.address, a);
      }
      return a;
    },
    onSessionEnded: (s) => ended.push(s),
  });
  rig = { sessions, driver, ended, sockets: [] };
  return rig;
}

afterEach(async () => {
  if (rig === undefined) return;
  rig.sessions.stop();
  await rig.driver.reconcile(new Set());
  await rig.driver.dispose();
  for (const s of rig.sockets) s.close();
  rig = undefined;
});

/** Settles the session's queued driver operations (they run behind the synchronous decision). */
const settle = () => new Promise((r) => setTimeout(r, 100));

describe('media sessions (relay driver, loopback)', () => {
  it('anchors an offer and its answer on the agent, carries media both ways, closes it with the call', async () => {
    const r = await setUp();
    const phone = await bound(PHONE);
    const party = await bound(PARTY);
    r.sockets.push(phone, party);
    const phonePort = phone.address().port;
    const partyPort = party.address().port;

    const invite = anInvite({ callId: 'call-1', body: sdp(PHONE, phonePort) });
    const out = r.sessions.onSdp(invite, { callId: 'call-1', from: inside, to: outside });
    if (typeof out === 'number') throw new Error(`refused ${out}`);
    const offer = mline(out);
    // The outside party is told the agent's outside address only.
    expect(offer.address).toBe('127.0.0.2');
    expect(offer.text).not.toContain(PHONE);
    expect(offer.text).toContain('a=rtpmap:101 telephone-event/8000');
    expect(offer.port % 2).toBe(0);

    const ok = setBody(
      setHeader(createResponse(invite, 200, 'OK', { toTag: 'b1' }), 'Content-Type', 'application/sdp'),
      Buffer.from(sdp(PARTY, partyPort)),
    );
    const back = r.sessions.onSdp(ok, { callId: 'call-1', from: outside, to: inside });
    if (typeof back === 'number') throw new Error(`refused ${back}`);
    const answer = mline(back);
    expect(answer.address).toBe('127.0.0.1');
    expect(answer.text).not.toContain(PARTY);
    await settle();

    // Phone → agent inside port → party, from the agent's outside port.
    const got = nextPacket(party);
    phone.send('rtp-from-phone', answer.port, '127.0.0.1');
    expect(await got).toEqual({ data: 'rtp-from-phone', from: `127.0.0.2:${offer.port}` });
    // Party → agent outside port → phone, from the agent's inside port.
    const got2 = nextPacket(phone);
    party.send('rtp-from-party', offer.port, '127.0.0.2');
    expect(await got2).toEqual({ data: 'rtp-from-party', from: `127.0.0.1:${answer.port}` });

    const rows = await r.sessions.rows();
    expect(rows).toHaveLength(1);
    expect(rows[0]?.streams[0]?.sides.map((s) => s.local?.port)).toEqual([answer.port, offer.port]);
    expect(rows[0]?.streams[0]?.counters?.aToB.packets).toBe(1);
    expect(rows[0]?.streams[0]?.counters?.bToA.packets).toBe(1);

    r.sessions.onCallEnded('call-1', 'x');
    await settle();
    expect(r.sessions.activeSessions).toBe(0);
    // Counted: 1 packet in (outside → inside) and 1 out.
    expect(r.ended).toEqual([
      expect.objectContaining({ callId: 'call-1', packetsIn: 1, packetsOut: 1, oneWayStreams: 0 }),
    ]);
    const none = nextPacket(party, 300);
    phone.send('after-bye', answer.port, '127.0.0.1');
    expect(await none).toBeUndefined();
  });

  it('keeps a stream’s ports across a re-offer and moves media to a new address', async () => {
    const r = await setUp();
    const phone = await bound(PHONE);
    const party = await bound(PARTY);
    const party2 = await bound(PARTY);
    r.sockets.push(phone, party, party2);
    const invite = anInvite({ callId: 'call-2', body: sdp(PHONE, phone.address().port) });
    const o1 = r.sessions.onSdp(invite, { callId: 'call-2', from: inside, to: outside }) as SipMessage;
    const a1 = r.sessions.onSdp(
      setBody(
        setHeader(createResponse(invite, 200, 'OK', { toTag: 'b1' }), 'Content-Type', 'application/sdp'),
        Buffer.from(sdp(PARTY, party.address().port)),
      ),
      { callId: 'call-2', from: outside, to: inside },
    ) as SipMessage;
    // The party re-offers from a new port (re-INVITE that moves media).
    const reinvite = anInvite({ callId: 'call-2', body: sdp(PARTY, party2.address().port) });
    const o2 = r.sessions.onSdp(reinvite, { callId: 'call-2', from: outside, to: inside }) as SipMessage;
    expect(mline(o2).port).toBe(mline(a1).port);
    const a2 = r.sessions.onSdp(
      setBody(
        setHeader(createResponse(reinvite, 200, 'OK', { toTag: 'a1' }), 'Content-Type', 'application/sdp'),
        Buffer.from(sdp(PHONE, phone.address().port)),
      ),
      { callId: 'call-2', from: inside, to: outside },
    ) as SipMessage;
    expect(mline(a2).port).toBe(mline(o1).port);
    await settle();
    const got = nextPacket(party2);
    phone.send('moved', mline(a1).port, '127.0.0.1');
    expect((await got)?.data).toBe('moved');
  });

  it('refuses a body that is not SDP with 488, passes other content types, and answers 503 when ports run out', async () => {
    const r = await setUp(42_000, 42_003); // two pairs per address
    const bad = anInvite({ callId: 'c-bad', body: 'this is not sdp\r\n' });
    expect(r.sessions.onSdp(bad, { callId: 'c-bad', from: inside, to: outside })).toBe(488);
    const text = anInvite({ callId: 'c-text', body: 'hello', contentType: 'text/plain' });
    expect(r.sessions.onSdp(text, { callId: 'c-text', from: inside, to: outside })).toBe(text);
    for (const id of ['c1', 'c2']) {
      const m = r.sessions.onSdp(anInvite({ callId: id, body: sdp(PHONE, 30_000) }), {
        callId: id,
        from: inside,
        to: outside,
      });
      expect(typeof m).not.toBe('number');
    }
    expect(
      r.sessions.onSdp(anInvite({ callId: 'c3', body: sdp(PHONE, 30_000) }), {
        callId: 'c3',
        from: inside,
        to: outside,
      }),
    ).toBe(503);
  });

  it('closes a stream removed by a re-offer (port 0) and keeps it at port 0', async () => {
    const r = await setUp();
    const invite = anInvite({ callId: 'c-rm', body: sdp(PHONE, 30_000) });
    r.sessions.onSdp(invite, { callId: 'c-rm', from: inside, to: outside });
    r.sessions.onSdp(
      setBody(
        setHeader(createResponse(invite, 200, 'OK', { toTag: 'b' }), 'Content-Type', 'application/sdp'),
        Buffer.from(sdp(PARTY, 30_002)),
      ),
      { callId: 'c-rm', from: outside, to: inside },
    );
    await settle();
    expect(r.driver.size).toBe(2);
    const removed = r.sessions.onSdp(anInvite({ callId: 'c-rm', body: sdp(PHONE, 0) }), {
      callId: 'c-rm',
      from: inside,
      to: outside,
    }) as SipMessage;
    expect(mline(removed).port).toBe(0);
    await settle();
    expect(r.driver.size).toBe(0);
  });
});

describe('media sessions: SDP inside a multipart body (RFC 5621)', () => {
  it('anchors the SDP part in place and passes the other parts byte for byte', async () => {
    const r = await setUp();
    const body =
      `--sep\r\nContent-Type: application/sdp\r\n\r\n${sdp(PHONE, 30_000)}\r\n` +
      '--sep\r\nContent-Type: application/isup;version=itu-t92+\r\nContent-Disposition: signal;handling=optional\r\n\r\n\x01\x02\x03\r\n--sep--\r\n';
    const invite = anInvite({ callId: 'c-mp', body, contentType: 'multipart/mixed;boundary=sep' });
    const out = r.sessions.onSdp(invite, { callId: 'c-mp', from: inside, to: outside });
    if (typeof out === 'number') throw new Error(`refused ${out}`);
    const text = out.body.toString('latin1');
    expect(text).not.toContain(PHONE);
    expect(text).toMatch(/^--sep\r\nContent-Type: application\/sdp\r\n\r\nv=0\r\n/);
    expect(text).toContain('c=IN IP4 127.0.0.2\r\n');
    expect(text).toContain(
      'Content-Disposition: signal;handling=optional\r\n\r\n\x01\x02\x03\r\n--sep--\r\n',
    );
    expect(out.headers.find((h) => h.key === 'content-length')?.value).toBe(String(out.body.length));
  });
});
