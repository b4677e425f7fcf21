/**
 * The proxy and the media session layer together (no network but loopback): a call from the
 * outside forks to two registered contacts; both answer 183 with SDP (different To-tags), then
 * - the first one answers 200 **without** SDP (its answer was in its 183). The proxy hands that
 *   body-less 2xx to the media layer, which fixes the stream on the first fork's answer although
 *   the second fork answered last;
 * - or the second one (the last answer, which has the stream) rejects with 486 while the first
 *   still rings. The proxy tells the media layer that branch's early dialog is over (the 486 itself
 *   is not forwarded yet), and the stream goes back to the first fork's early answer.
 * The relay driver is real (loopback sockets); interfaces are 127.0.0.1 (inside) and 127.0.0.2
 * (outside).
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { binding, sealer } from '../../test/proxy/proxy-fixtures.js';
import { anInvite } from '../../test/sip/builders.js';
import { Myself } from '../core/myself.js';
import { RequestHandlerRegistry } from '../core/request-handlers.js';
import type { SipListening, SipSendTarget, SipStack } from '../core/sip-stack.js';
import { InterfaceMap } from '../proxy/interfaces.js';
import { type ProxySettings, SipProxy } from '../proxy/proxy-core.js';
import { createResponse } from '../sip/build.js';
import { setBody, setHeader } from '../sip/edit.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import type { ClientTransactionUser, ServerTransaction } from '../transaction/types.js';
import type { Transport } from '../transport/types.js';
import { createSystemClock } from '../util/clock.js';
import { createRandomPool } from '../util/random-pool.js';
import { RelayPinholeDriver } from './drivers/relay.js';
import { PortAllocator } from './ports.js';
import { MediaSessions } from './sessions.js';

const ALICE = 'sip:alice@example.test';
const LISTENING: SipListening[] = (['inside', 'outside'] as const).map((name) => ({
  interface: name,
  role: name,
  transport: 'udp' as const,
  address: name === 'inside' ? '127.0.0.1' : '127.0.0.2',
  port: 5060,
}));

class ServerTx implements ServerTransaction {
  readonly kind = 'server-invite' as const;
  readonly responses: SipResponse[] = [];
  state: ServerTransaction['state'] = 'proceeding';
  constructor(readonly request: SipRequest) {}
  get lastResponse(): SipResponse | undefined {
    return this.responses.at(-1);
  }
  get lastStatus(): number {
    return this.lastResponse?.status ?? 0;
  }
  get lastToTag(): string | undefined {
    return this.lastResponse?.to.tag;
  }
  respond(r: SipResponse): void {
    this.responses.push(r);
  }
}

const sdp = (address: string, port: number) =>
  `v=0\r\no=- 1 1 IN IP4 ${address}\r\ns=-\r\nc=IN IP4 ${address}\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=rtcp-mux\r\n`;

const withSdp = (r: SipResponse, body: string) =>
  setBody(setHeader(r, 'Content-Type', 'application/sdp'), Buffer.from(body));

interface Branch {
  request: SipRequest;
  target: SipSendTarget;
  user: ClientTransactionUser;
}

/** The proxy with the media layer, a forked INVITE sent, both forks' 183 with SDP answered. */
async function forkedCall(callId: string) {
  const clock = createSystemClock();
  const logger = pino({ level: 'silent' });
  const driver = new RelayPinholeDriver({ logger, clock });
  const random = createRandomPool();
  const allocators = new Map<string, PortAllocator>();
  const sessions = new MediaSessions({
    driver,
    clock,
    logger,
    ports: (iface) => {
      let a = allocators.get(iface.address);
      if (a === undefined) {
        a = new PortAllocator(
          { address: iface.address, portMin: 44_000, portMax: 44_999 },
          { clock, random },
        );
        allocators.set(iface.address, a);
      }
      return a;
    },
  });
  const sent: Branch[] = [];
  const handlers = new RequestHandlerRegistry();
  let n = 0;
  const stack: SipStack = {
    handlers,
    ids: { branch: () => `z9hG4bK${++n}`, tag: () => `t${++n}` },
    drop: () => {},
    sendRequest: (request, target, user) => sent.push({ request, target, user }),
    sendStateless: async () => {},
    forwardResponse: async () => {},
    listening: () => LISTENING,
  };
  const settings: ProxySettings = {
    outboundProxy: undefined,
    statelessMethods: new Set(),
    inviteTimeoutMs: 180_000,
    hide: true,
    strip: [],
    body: { allowedTypes: new Set(), maxMediaStreams: 4 },
    sessionTimer: { enabled: false, minSe: 90, defaultSessionExpires: 1800 },
    admission: {
      maxConcurrentCallsPerUser: 5,
      maxCallAttemptsPerSecPerUser: 5,
      maxConcurrentCallsPerSite: 100,
      maxCallAttemptsPerSecPerSite: 100,
    },
  };
  const bindings = [
    binding(ALICE, 'sip:alice@127.0.0.5:5060', '127.0.0.5'),
    binding(ALICE, 'sip:alice@127.0.0.6:5060', '127.0.0.6'),
  ];
  const interfaces = new InterfaceMap(
    [
      { name: 'inside', role: 'inside', address: '127.0.0.1', networks: ['127.0.0.5/32', '127.0.0.6/32'] },
      { name: 'outside', role: 'outside', address: '127.0.0.2', networks: [] },
    ],
    LISTENING,
  );
  const proxy = new SipProxy({
    stack,
    clock,
    logger,
    sealer,
    settings: () => settings,
    myself: () => new Myself({ domains: ['example.test'], listeners: LISTENING }),
    interfaces: () => interfaces,
    locate: (aor) => (aor === ALICE ? bindings : []),
    isKnownUser: (aor) => aor === ALICE,
    resolve: async () => ({ ok: false, status: 404, reason: 'Not Found' }) as never,
    media: sessions,
  });
  proxy.attach();
  const close = async () => {
    proxy.stop?.();
    sessions.stop();
    await driver.reconcile(new Set());
    await driver.dispose();
  };
  try {
    const invite = anInvite({
      requestUri: ALICE,
      via: ['SIP/2.0/UDP 127.0.0.9:5060;branch=z9hG4bKcaller;rport=5060;received=127.0.0.9'],
      from: '<sip:carol@far.example>;tag=c1',
      to: `<${ALICE}>`,
      callId,
      contentType: 'application/sdp',
      body: sdp('127.0.0.9', 30_000),
    });
    const tx = new ServerTx(invite);
    handlers.get('INVITE')!(
      invite,
      tx,
      {
        source: { address: '127.0.0.9', port: 5060 },
        transport: { interfaceName: 'outside', protocol: 'udp' } as Transport,
      },
      {},
    );
    expect(sent).toHaveLength(2);
    const [b1, b2] = sent as [Branch, Branch];
    b1.user.onResponse(
      withSdp(createResponse(b1.request, 183, undefined, { toTag: 'f1' }), sdp('127.0.0.5', 31_000)),
    );
    b2.user.onResponse(
      withSdp(createResponse(b2.request, 183, undefined, { toTag: 'f2' }), sdp('127.0.0.6', 31_002)),
    );
    const peer = async () =>
      (await sessions.rows())[0]?.streams[0]?.sides.find((s) => s.interface === 'inside')?.peer;
    // The last early answer has the stream.
    expect(await peer()).toEqual({ address: '127.0.0.6', port: 31_002 });
    // Both 183s went up with SDP rewritten to the agent's outside address.
    expect(tx.responses.map((r) => r.status)).toEqual([183, 183]);
    for (const r of tx.responses) expect(r.body.toString()).toContain('c=IN IP4 127.0.0.2');
    return { driver, tx, b1, b2, peer, close };
  } catch (e) {
    await close();
    throw e;
  }
}

describe('proxy + media sessions: a forked call with early media from both forks', () => {
  it('answered 200 without SDP: fixes the stream on the dialog of the 2xx, not on the last early answer', async () => {
    const { driver, tx, b1, peer, close } = await forkedCall('fork-media-1');
    try {
      // The first fork answers 200 without a body: the stream goes back to its early answer.
      b1.user.onResponse(createResponse(b1.request, 200, undefined, { toTag: 'f1' }));
      expect(tx.responses.map((r) => r.status)).toEqual([183, 183, 200]);
      expect(await peer()).toEqual({ address: '127.0.0.5', port: 31_000 });
      await new Promise((r) => setTimeout(r, 100));
      // The relay's pinhole follows: one pinhole, towards the first fork.
      expect(driver.size).toBe(1);
    } finally {
      await close();
    }
  });

  it('the fork that answered last rejects (486) while the other rings: the stream goes back to the ringing fork', async () => {
    const { driver, tx, b1, b2, peer, close } = await forkedCall('fork-media-2');
    try {
      b2.user.onResponse(createResponse(b2.request, 486, 'Busy Here', { toTag: 'f2' }));
      // The 486 is not forwarded (the other branch is still alive) but the media layer knows.
      expect(tx.responses.map((r) => r.status)).toEqual([183, 183]);
      expect(await peer()).toEqual({ address: '127.0.0.5', port: 31_000 });
      await new Promise((r) => setTimeout(r, 100));
      expect(driver.size).toBe(1);
      // The remaining fork answers 200 without SDP: the stream stays on it.
      b1.user.onResponse(createResponse(b1.request, 200, undefined, { toTag: 'f1' }));
      expect(tx.responses.map((r) => r.status)).toEqual([183, 183, 200]);
      expect(await peer()).toEqual({ address: '127.0.0.5', port: 31_000 });
    } finally {
      await close();
    }
  });
});
