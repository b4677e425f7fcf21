import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentConfigSchema } from '@sipwall/shared';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRegistrarService, type RegistrarService } from '../../src/registrar/registrar-service.js';
import { type SipService, startSipService } from '../../src/sip-service.js';
import { createSystemClock } from '../../src/util/clock.js';
import { sipText, statusOf, UdpClient } from '../transport/sip-clients.js';

const DOMAIN = 'example.test';

let dir: string;
let service: SipService;
let registrar: RegistrarService;
let port = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sipwall-myself-'));
  // Port 0: only the bound listener knows the agent's port, so "myself" must learn it from there.
  const config = AgentConfigSchema.parse({
    stateDir: dir,
    sip: {
      domains: [DOMAIN],
      interfaces: [{ name: 'lan', role: 'inside', address: '127.0.0.1', port: 0, transports: ['udp'] }],
    },
    users: [{ username: 'alice', domain: DOMAIN, ha1: { md5: 'a'.repeat(32), sha256: 'b'.repeat(64) } }],
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
    onSecurityEvents: () => {},
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

function registerTo(requestUri: string, to: string, branch: string, clientPort: number): Buffer {
  return sipText([
    `REGISTER ${requestUri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${clientPort};branch=z9hG4bK-${branch};rport`,
    'Max-Forwards: 70',
    `From: <${to}>;tag=${branch}`,
    `To: <${to}>`,
    `Call-ID: myself-${branch}`,
    'CSeq: 1 REGISTER',
    `Contact: <sip:alice@127.0.0.1:${clientPort}>`,
    'Expires: 600',
  ]);
}

describe('the registrar as "myself" on a real socket (config port 0)', () => {
  it('learns the bound port: a REGISTER to sip:127.0.0.1:<port> is challenged for the default domain with MD5 only', async () => {
    const phone = await UdpClient.open();
    try {
      await phone.send(registerTo(`sip:127.0.0.1:${port}`, 'sip:alice@127.0.0.1', 'a1', phone.port), port);
      const answer = (await phone.waitForMatch((m) => statusOf(m) !== 100)).find((m) => statusOf(m) !== 100)!;
      expect(statusOf(answer)).toBe(401);
      const challenges = answer.split('\r\n').filter((l) => l.toLowerCase().startsWith('www-authenticate:'));
      expect(challenges).toHaveLength(1);
      expect(challenges[0]).toContain(`realm="${DOMAIN}"`);
      expect(challenges[0]).toContain('algorithm=MD5');
      expect(registrar.myself().isHost('127.0.0.1', port)).toBe(true);
    } finally {
      phone.close();
    }
  });

  it('answers 404 for our address on a port the agent does not listen on', async () => {
    const phone = await UdpClient.open();
    try {
      const other = port === 65_000 ? 65_001 : 65_000;
      await phone.send(registerTo(`sip:127.0.0.1:${other}`, `sip:alice@${DOMAIN}`, 'a2', phone.port), port);
      const answer = (await phone.waitForMatch((m) => statusOf(m) !== 100)).find((m) => statusOf(m) !== 100)!;
      expect(statusOf(answer)).toBe(404);
    } finally {
      phone.close();
    }
  });
});
