import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentConfigSchema } from '@sipwall/shared';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecurityEvent } from '../../src/auth/security-event.js';
import { openRegistrarService, type RegistrarService } from '../../src/registrar/registrar-service.js';
import { type SipService, startSipService } from '../../src/sip-service.js';
import { createSystemClock } from '../../src/util/clock.js';
import { authorizationHeader, ha1Of } from '../auth/digest-client.js';
import { sipText, statusOf } from '../transport/sip-clients.js';

/**
 * Hardening item 8: brute-force blocking must not be a tool to cut off an office. UDP source
 * addresses can be forged, so failures count against a source only when its answer proves it
 * received our challenge (the nonce was sent to that address). The real registrar, over real UDP
 * on loopback: 127.0.0.2 is the office's NAT address (its phone and a forger "using" it),
 * 127.0.0.3 the attacker's real address, 127.0.0.4 an honest-to-goodness guesser.
 */
const DOMAIN = 'example.test';
const MAX_FAILURES = 10; // policies.bruteForce default: past 10 failures the source is blocked

let dir: string;
let service: SipService;
let registrar: RegistrarService;
let port = 0;
const security: SecurityEvent[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sipwall-forged-'));
  const config = AgentConfigSchema.parse({
    stateDir: dir,
    sip: {
      domains: [DOMAIN],
      interfaces: [{ name: 'lan', role: 'inside', address: '127.0.0.1', port: 0, transports: ['udp'] }],
      auth: { algorithms: ['MD5'] },
    },
    users: [{ username: 'alice', domain: DOMAIN, ha1: { md5: ha1Of('md5', 'alice', DOMAIN, 'alice-pw') } }],
  });
  const clock = createSystemClock();
  const logger = pino({ level: 'silent' });
  registrar = await openRegistrarService(config, {
    stateDir: dir,
    clock,
    logger,
    randomBytes: (n) => randomBytes(n),
    nonceSecret: randomBytes(32),
    keepAlive: { intervalMs: 25_000, maxFailures: 3, maxPerTick: 100 },
    resolveHost: async (h) => h,
    onRegistrationEvents: () => {},
    onSecurityEvents: (e) => security.push(...e),
    hostAddresses: ['127.0.0.1'],
  });
  service = await startSipService({ config, logger, clock, setup: (stack) => registrar.attach(stack) });
  port = service.listening[0]?.port ?? 0;
});

afterAll(async () => {
  await service?.stop();
  await registrar?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A UDP endpoint bound to one loopback address: what the agent sees as the packet's source. */
class Endpoint {
  readonly received: string[] = [];
  private constructor(
    readonly socket: Socket,
    readonly address: string,
  ) {
    socket.on('message', (m) => this.received.push(m.toString('latin1')));
  }

  static async open(address: string): Promise<Endpoint> {
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, address, () => r()));
    return new Endpoint(socket, address);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Sends a REGISTER and returns the final answer, or `undefined` if none comes within `waitMs`. */
  async register(
    cseq: number,
    callId: string,
    authorization?: string,
    waitMs = 2000,
  ): Promise<string | undefined> {
    const branch = `z9hG4bK-${callId}-${cseq}`;
    const lines = [
      `REGISTER sip:${DOMAIN} SIP/2.0`,
      `Via: SIP/2.0/UDP ${this.address}:${this.port};branch=${branch};rport`,
      'Max-Forwards: 70',
      `From: <sip:alice@${DOMAIN}>;tag=${callId}`,
      `To: <sip:alice@${DOMAIN}>`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} REGISTER`,
      `Contact: <sip:alice@${this.address}:${this.port}>`,
      'Expires: 600',
      ...(authorization === undefined ? [] : [`Authorization: ${authorization}`]),
    ];
    const bytes = sipText(lines);
    await new Promise<void>((r, j) => this.socket.send(bytes, port, '127.0.0.1', (e) => (e ? j(e) : r())));
    const until = Date.now() + waitMs;
    while (Date.now() < until) {
      const hit = this.received.find((m) => m.includes(branch) && statusOf(m) >= 200);
      if (hit !== undefined) return hit;
      await new Promise((r) => setTimeout(r, 5));
    }
    return undefined;
  }

  close(): void {
    this.socket.close();
  }
}

const nonceOf = (challenge: string): string => /nonce="([^"]+)"/.exec(challenge)![1]!;

function answer(nonce: string, password: string, nc: number): string {
  return authorizationHeader({
    hash: 'md5',
    username: 'alice',
    realm: DOMAIN,
    password,
    method: 'REGISTER',
    uri: `sip:${DOMAIN}`,
    nonce,
    nc: nc.toString(16).padStart(8, '0'),
    cnonce: `c${nc}`,
  });
}

describe('brute-force blocking over real UDP: only failures that prove the challenge was received count', () => {
  it('forged-source guesses over a nonce sent to another address never block the office; its phone still registers', {
    timeout: 30_000,
  }, async () => {
    const attacker = await Endpoint.open('127.0.0.3');
    const forged = await Endpoint.open('127.0.0.2');
    const phone = await Endpoint.open('127.0.0.2');
    try {
      const challenge = await attacker.register(1, 'atk');
      expect(statusOf(challenge!)).toBe(401);
      const nonce = nonceOf(challenge!);
      // Three times the limit, "from" the office's address (the forger never sees the answers).
      for (let i = 1; i <= 3 * (MAX_FAILURES + 1); i++) {
        const res = await forged.register(100 + i, 'forged', answer(nonce, `guess-${i}`, i));
        // A fresh challenge, never 403: the wrong answer was not even checked.
        expect(res === undefined ? 'dropped' : statusOf(res)).toBe(401);
        expect(res).toContain('stale=true');
      }
      expect(security.filter((e) => e.source === '127.0.0.2')).toEqual([]);
      expect(registrar.counts().blockedSources).toBe(0);

      // The office's real phone: challenged, answers, registered.
      const c = await phone.register(1, 'phone');
      expect(statusOf(c!)).toBe(401);
      const ok = await phone.register(2, 'phone', answer(nonceOf(c!), 'alice-pw', 1));
      expect(statusOf(ok!)).toBe(200);
    } finally {
      attacker.close();
      forged.close();
      phone.close();
    }
  });

  it('a real guesser (answering the challenges it received) is blocked after maxFailures, as before', {
    timeout: 30_000,
  }, async () => {
    const guesser = await Endpoint.open('127.0.0.4');
    try {
      for (let i = 1; i <= MAX_FAILURES + 1; i++) {
        const c = await guesser.register(2 * i, 'guess');
        expect(statusOf(c!)).toBe(401);
        const res = await guesser.register(2 * i + 1, 'guess', answer(nonceOf(c!), `guess-${i}`, 1));
        expect(statusOf(res!)).toBe(403);
      }
      expect(security.filter((e) => e.source === '127.0.0.4' && e.event === 'source-blocked')).toHaveLength(
        1,
      );
      // Blocked: requests from it are dropped without an answer.
      expect(await guesser.register(100, 'guess-after', undefined, 500)).toBeUndefined();
    } finally {
      guesser.close();
    }
  });
});
