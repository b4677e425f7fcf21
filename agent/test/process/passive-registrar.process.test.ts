import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SpawnedAgent, startAgent } from '../helpers/spawn-agent.js';
import { freeUdpPort, haveSipp, runSipp, SKIP_SUFFIX, startSipp } from '../helpers/sipp.js';
import { passiveRegister, upstreamRegistrar } from '../sipp/register-scenarios.js';

const d = haveSipp ? describe : describe.skip;
const DOMAIN = 'example.test';

interface Row {
  aor: string;
  contact: string;
  expiresSec: number;
  flow: { transport: string; source: string };
  mode: string;
}

d(`passive registrar: relay to an outside registrar (SIPp UAS) and learn from its 200${SKIP_SUFFIX}`, () => {
  let dir: string;
  let agent: SpawnedAgent;
  let adminPort = 0;
  let remote = '';
  let upstreamPort = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sipwall-passive-'));
    upstreamPort = await freeUdpPort('127.0.0.1');
    const file = join(dir, 'agent.yaml');
    await writeFile(
      file,
      `site: passive-test
stateDir: ${join(dir, 'state')}
log:
  level: info
sip:
  domains: [${DOMAIN}]
  interfaces:
    - { name: lan, role: inside, address: 127.0.0.1, port: 0, transports: [udp] }
    - { name: wan, role: outside, address: 127.0.0.2, port: 0, transports: [udp] }
  timers: { t1Ms: 100, t2Ms: 4000, t4Ms: 5000 }
  registrar:
    mode: passive
    upstream: 127.0.0.1:${upstreamPort}
`,
    );
    const started = await startAgent(['--config', file, '--admin-port', '0']);
    agent = started.agent;
    adminPort = started.adminPort;
    const sip = started.ready.sip as { interface: string; port: number }[];
    remote = `127.0.0.1:${sip.find((l) => l.interface === 'lan')?.port ?? 0}`;
  }, 30_000);

  afterAll(async () => {
    await agent?.stop(5000);
    await rm(dir, { recursive: true, force: true });
  });

  const rows = async (): Promise<Row[]> =>
    ((await (await fetch(`http://127.0.0.1:${adminPort}/registrations`)).json()) as { registrations: Row[] })
      .registrations;

  async function registerThrough(user: string, upstreamStatus: number, expect: number) {
    const upstream = await startSipp({
      scenario: { xml: upstreamRegistrar(upstreamStatus, 120), name: `up-${user}.xml` },
      dir,
      localIp: '127.0.0.1',
      localPort: upstreamPort,
      timeoutSec: 15,
    });
    // Let the UAS bind before the phone sends (bounded: SIPp binds within a few ms).
    await new Promise((r) => setTimeout(r, 300));
    const phone = await runSipp({
      scenario: {
        xml: passiveRegister({ user, domain: DOMAIN, password: '', expires: 3600, expect }),
        name: `ph-${user}.xml`,
      },
      dir,
      remote,
    });
    const up = await upstream.done;
    return { phone, up };
  }

  it('relays REGISTER upstream, relays the 200 back and shows the learned binding as passive', async () => {
    const { phone, up } = await registerThrough('alice', 200, 200);
    expect(up.code, up.output).toBe(0);
    expect(phone.code, phone.output).toBe(0);
    const alice = (await rows()).filter((r) => r.aor === `sip:alice@${DOMAIN}`);
    expect(alice).toHaveLength(1);
    expect(alice[0]!.mode).toBe('passive');
    expect(alice[0]!.contact).toMatch(/^sip:alice@127\.0\.0\.1:\d+$/);
    // The expiry is the outside registrar's (120 s), not what the phone asked for (3600 s).
    expect(alice[0]!.expiresSec).toBeLessThanOrEqual(120);
    expect(alice[0]!.expiresSec).toBeGreaterThan(110);
    expect(alice[0]!.flow.source).toMatch(/^127\.0\.0\.1:\d+$/);
  }, 40_000);

  it('learns nothing when the outside registrar answers 403 (relayed to the phone)', async () => {
    const { phone, up } = await registerThrough('mallory', 403, 403);
    expect(up.code, up.output).toBe(0);
    expect(phone.code, phone.output).toBe(0);
    expect((await rows()).some((r) => r.aor === `sip:mallory@${DOMAIN}`)).toBe(false);
  }, 40_000);

  it('learns nothing and answers 408 when the outside registrar does not answer', async () => {
    // No UAS on the upstream port: timer F (64·T1 = 6.4 s with T1 100 ms) ends the relay.
    const phone = await runSipp({
      scenario: {
        xml: passiveRegister({ user: 'trent', domain: DOMAIN, password: '', expect: 408 }),
        name: 'ph-t.xml',
      },
      dir,
      remote,
      recvTimeoutMs: 10_000,
    });
    expect(phone.code, phone.output).toBe(0);
    expect((await rows()).some((r) => r.aor === `sip:trent@${DOMAIN}`)).toBe(false);
  }, 40_000);
});

if (!haveSipp) {
  describe('passive registrar', () => {
    it.skip('skipped: sipp not installed (apt-get install sip-tester)', () => {});
  });
}
