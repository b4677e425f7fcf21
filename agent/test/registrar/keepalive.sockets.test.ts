import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentConfigSchema } from '@sipwall/shared';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegistrationEvent } from '../../src/registrar/events.js';
import { openRegistrarService, type RegistrarService } from '../../src/registrar/registrar-service.js';
import { type SipService, startSipService } from '../../src/sip-service.js';
import { createSystemClock } from '../../src/util/clock.js';
import { authorizationHeader, ha1Of } from '../auth/digest-client.js';
import { sipText, statusOf, UdpClient } from '../transport/sip-clients.js';

const DOMAIN = 'example.test';
const INTERVAL_MS = 250;

let dir: string;
let service: SipService;
let registrar: RegistrarService;
let port = 0;
const events: RegistrationEvent[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sipwall-keepalive-'));
  const config = AgentConfigSchema.parse({
    stateDir: dir,
    sip: {
      domains: [DOMAIN],
      interfaces: [{ name: 'lan', role: 'inside', address: '127.0.0.1', port: 0, transports: ['udp'] }],
      timers: { t1Ms: 50, t2Ms: 4000, t4Ms: 5000 },
    },
    users: ['bob', 'carol'].map((u) => ({
      username: u,
      domain: DOMAIN,
      ha1: { md5: ha1Of('md5', u, DOMAIN, `${u}-pw`) },
    })),
  });
  const clock = createSystemClock();
  const logger = pino({ level: process.env.KA_LOG ?? 'silent' });
  registrar = await openRegistrarService(config, {
    stateDir: dir,
    clock,
    logger,
    randomBytes: (n) => randomBytes(n),
    nonceSecret: randomBytes(32),
    keepAlive: { intervalMs: INTERVAL_MS, maxFailures: 2, maxPerTick: 100 },
    resolveHost: async (h) => h,
    onRegistrationEvents: (e) => events.push(...e),
    onSecurityEvents: () => {},
    sweepIntervalMs: 200,
  });
  service = await startSipService({ config, logger, clock, setup: (stack) => registrar.attach(stack) });
  port = service.listening[0]?.port ?? 0;
});

afterAll(async () => {
  await service?.stop();
  await registrar?.close();
  await rm(dir, { recursive: true, force: true });
});

function registerText(user: string, contact: string, cseq: number, auth?: string): Buffer {
  return sipText([
    `REGISTER sip:${DOMAIN} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-${user}-${cseq};rport`,
    'Max-Forwards: 70',
    `From: <sip:${user}@${DOMAIN}>;tag=${user}`,
    `To: <sip:${user}@${DOMAIN}>`,
    `Call-ID: ka-${user}`,
    `CSeq: ${cseq} REGISTER`,
    `Contact: <${contact}>`,
    'Expires: 600',
    ...(auth === undefined ? [] : [`Authorization: ${auth}`]),
  ]);
}

/** REGISTER → 401 → REGISTER with digest → 200, from the phone's own socket. */
async function register(phone: UdpClient, user: string, contact: string): Promise<void> {
  await phone.send(registerText(user, contact, 1), port);
  const challenge = (await phone.waitForMatch((m) => statusOf(m) === 401)).find((m) => statusOf(m) === 401)!;
  const nonce = /nonce="([^"]+)"/.exec(challenge)![1]!;
  const auth = authorizationHeader({
    hash: 'md5',
    username: user,
    realm: DOMAIN,
    password: `${user}-pw`,
    method: 'REGISTER',
    uri: `sip:${DOMAIN}`,
    nonce,
    nc: '00000001',
    cnonce: 'abcdef',
  });
  await phone.send(registerText(user, contact, 2, auth), port);
  await phone.waitForMatch((m) => statusOf(m) === 200);
}

/** Answers every OPTIONS ping with 200 while `answering()` holds. */
function answerPings(phone: UdpClient, answering: () => boolean): void {
  phone.socket.on('message', (m) => {
    const text = m.toString('latin1');
    if (!text.startsWith('OPTIONS ') || !answering()) return;
    const keep = text.split('\r\n').filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
    void phone.send(
      sipText(['SIP/2.0 200 OK', ...keep.map((l) => (l.startsWith('To:') ? `${l};tag=ph` : l))]),
      port,
    );
  });
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pings = (phone: UdpClient) => phone.received.filter((m) => m.startsWith('OPTIONS ')).length;

describe('far-end NAT keep-alive', () => {
  it('pings a binding whose flow differs from its Contact and drops it once the phone stops answering', async () => {
    const natted = await UdpClient.open();
    const direct = await UdpClient.open();
    try {
      let answering = true;
      answerPings(natted, () => answering);
      // Behind a far-end NAT: the Contact names a private address the agent cannot reach.
      await register(natted, 'bob', 'sip:bob@10.9.9.9:5060');
      // Not behind NAT: the Contact is the source address itself.
      await register(direct, 'carol', `sip:carol@127.0.0.1:${direct.port}`);
      expect(
        registrar
          .registrations()
          .rows.map((r) => r.aor)
          .sort(),
      ).toEqual([`sip:bob@${DOMAIN}`, `sip:carol@${DOMAIN}`]);

      // Several pings at the short interval, answered: the binding stays.
      await wait(INTERVAL_MS * 4 + 100);
      expect(pings(natted)).toBeGreaterThanOrEqual(3);
      expect(pings(natted)).toBeLessThanOrEqual(6);
      expect(pings(direct)).toBe(0);
      const ping = natted.received.find((m) => m.startsWith('OPTIONS '))!;
      expect(ping.startsWith('OPTIONS sip:bob@10.9.9.9:5060 SIP/2.0')).toBe(true);
      expect(registrar.registrations().rows.some((r) => r.aor === `sip:bob@${DOMAIN}`)).toBe(true);

      // The phone goes away: after maxFailures unanswered pings the binding is dropped.
      answering = false;
      let gone = false;
      for (let i = 0; i < 40 && !gone; i++) {
        await wait(100);
        gone = !registrar.registrations().rows.some((r) => r.aor === `sip:bob@${DOMAIN}`);
      }
      expect(gone).toBe(true);
      expect(events.some((e) => e.aor === `sip:bob@${DOMAIN}` && e.action === 'removed')).toBe(true);
      expect(registrar.registrations().rows.some((r) => r.aor === `sip:carol@${DOMAIN}`)).toBe(true);
    } finally {
      natted.close();
      direct.close();
    }
  }, 20_000);
});
