import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ControlPlane } from '@sipwall/control-plane';
import { type ManagedConfig, topics } from '@sipwall/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ha1Of } from '../../agent/test/auth/digest-client.js';
import { type SpawnedAgent, startAgent } from '../../agent/test/helpers/spawn-agent.js';
import { haveSipp, runSipp, SKIP_SUFFIX } from '../../agent/test/helpers/sipp.js';
import { digestRegister, plainRegister } from '../../agent/test/sipp/register-scenarios.js';
import { apiClient, eventually } from '../helpers/api-client.js';
import { type MqttRelay, startMqttRelay } from '../helpers/mqtt-relay.js';
import { pushDesired } from '../helpers/push-desired.js';
import { controlPlaneOn, type ServicesUnderTest, servicesUnderTest } from '../helpers/services.js';

const ADMIN = { email: 'admin@sync.test', password: 'sync-e2e-password-1234' };
const d = haveSipp ? describe : describe.skip;

interface Phone {
  readonly user: string;
  readonly domain: string;
  readonly password: string;
}
const sipUser = (p: Phone) => ({
  username: p.user,
  domain: p.domain,
  ha1: { md5: ha1Of('md5', p.user, p.domain, p.password) },
});

/**
 * Desired state end to end: the control plane (tRPC, database, broker, bridge) ↔ real agent
 * processes ↔ SIPp phones. Runs on the embedded defaults, and against real PostgreSQL +
 * Mosquitto when DATABASE_URL/MQTT_URL are set.
 */
d(
  `desired state applied by a real agent: users, domains, refusals, auto-revert, offline boot${SKIP_SUFFIX}`,
  () => {
    let services: ServicesUnderTest;
    let cp: ControlPlane;
    let dir: string;
    let api: ReturnType<typeof apiClient>;
    let siteId: string;
    let orgId: string;
    const procs: SpawnedAgent[] = [];

    beforeAll(async () => {
      services = await servicesUnderTest();
      cp = await controlPlaneOn(services, ADMIN);
      dir = mkdtempSync(join(tmpdir(), 'sipwall-sync-'));
      api = apiClient(cp.url);
      await api.auth.signIn.mutate(ADMIN);
      const org = await api.organizations.create.mutate({ name: `Sync e2e (${services.label})` });
      orgId = org.id;
      siteId = (await api.sites.create.mutate({ organizationId: org.id, name: 'Sync site' })).id;
    });

    afterAll(async () => {
      for (const p of procs) await p.stop().catch(() => {});
      await cp?.stop();
      await services?.dispose();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const agentRow = async (agentId: string) =>
      (await api.agents.list.query({ organizationId: orgId })).find((a) => a.id === agentId);

    /** Writes the agent's file config (its own domain, user and policies) and starts the process. */
    async function startSiteAgent(name: string, token: string | undefined, mqttUrl?: string) {
      const configFile = join(dir, `${name}.json`);
      writeFileSync(
        configFile,
        JSON.stringify({
          site: name,
          stateDir: join(dir, `state-${name}`),
          controlPlane: {
            url: cp.url,
            ...(token === undefined ? {} : { enrollmentToken: token }),
            ...(mqttUrl === undefined ? {} : { mqttUrl }),
          },
          sip: {
            domains: [`${name}.file.test`],
            interfaces: [
              { name: 'inside', role: 'inside', address: '127.0.0.1', port: 0, transports: ['udp'] },
            ],
          },
          users: [sipUser(filePhone(name))],
          policies: { dropUserAgents: ['file-policy-scanner'], bruteForce: { maxFailures: 50 } },
          admin: { address: '127.0.0.1', port: 0 },
        }),
      );
      const started = await startAgent(['--config', configFile, '--sip-port', '0', '--admin-port', '0']);
      procs.push(started.agent);
      const sip = started.ready.sip as { transport: string; port: number }[];
      return { ...started, remote: `127.0.0.1:${sip.find((l) => l.transport === 'udp')?.port ?? 0}` };
    }
    const filePhone = (name: string): Phone => ({
      user: 'filer',
      domain: `${name}.file.test`,
      password: 'file-pw',
    });

    /** One SIPp phone: REGISTER → 401 → digest REGISTER → `expect`. */
    async function register(remote: string, p: Phone, expect = 200) {
      const run = await runSipp({
        scenario: { xml: digestRegister({ ...p, expect }), name: `${p.user}-${Date.now()}.xml` },
        dir,
        remote,
        authUri: p.domain,
        timeoutSec: 15,
        recvTimeoutMs: 4000,
      });
      return {
        ok: run.code === 0 && (run.received.get(String(expect))?.messages ?? 0) === 1,
        output: run.output,
      };
    }

    /** One unauthenticated REGISTER over UDP with `userAgent`: the status answered, or null (dropped). */
    async function registerStatus(remote: string, domain: string, userAgent: string): Promise<number | null> {
      const socket = createSocket('udp4');
      await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
      const port = socket.address().port;
      const [host, remotePort] = remote.split(':') as [string, string];
      const text = [
        `REGISTER sip:${domain} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${port};rport;branch=z9hG4bK${Math.random().toString(36).slice(2)}`,
        'Max-Forwards: 70',
        `From: <sip:probe@${domain}>;tag=p1`,
        `To: <sip:probe@${domain}>`,
        `Call-ID: ua-${Math.random().toString(36).slice(2)}`,
        'CSeq: 1 REGISTER',
        `Contact: <sip:probe@127.0.0.1:${port}>`,
        `User-Agent: ${userAgent}`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      try {
        const answer = new Promise<number>((resolve) =>
          socket.on('message', (m) => resolve(Number(/^SIP\/2\.0 (\d{3})/.exec(m.toString('latin1'))?.[1]))),
        );
        socket.send(text, Number(remotePort), host);
        return await Promise.race([answer, new Promise<null>((r) => setTimeout(() => r(null), 1500))]);
      } finally {
        socket.close();
      }
    }

    async function enroll(name: string) {
      const { agent, enrollmentToken } = await api.agents.create.mutate({ siteId, name: `${name}-fw` });
      return { agentId: agent.id, token: enrollmentToken };
    }

    const reported = (agentId: string, version: number | null, status: string) =>
      eventually(`agent reports ${status} ${version}`, async () => {
        const a = await agentRow(agentId);
        return a?.appliedVersion === version && a.reportedStatus === status ? a : undefined;
      });

    describe('one agent on the control plane', () => {
      let agentId: string;
      let remote: string;
      const pushed: Phone = { user: 'dave', domain: 'pushed.test', password: 'dave-pw' };
      const main = 'main';

      beforeAll(async () => {
        const e = await enroll(main);
        agentId = e.agentId;
        const started = await startSiteAgent(main, e.token);
        remote = started.remote;
        await eventually('agent online', async () => (await agentRow(agentId))?.online);
      });

      it('a push that changes only the log level keeps the file users and policies: a file user still registers', async () => {
        const version = await pushDesired(cp, agentId, {
          version: 1,
          config: { logLevel: 'debug' },
          users: [],
          policies: {},
        });
        await reported(agentId, version, 'applied');
        const r = await register(remote, filePhone(main));
        expect(r.ok, r.output).toBe(true);
        // The file's own policy (dropUserAgents) still holds: the built-in default list did not replace it.
        expect(await registerStatus(remote, `${main}.file.test`, 'file-policy-scanner')).toBeNull();
        expect(await registerStatus(remote, `${main}.file.test`, 'friendly-scanner')).toBe(401);
      });

      it('a pushed domain is served: its user registers (200), and the file user still does', async () => {
        const version = await pushDesired(cp, agentId, {
          version: 2,
          config: { domains: [`${main}.file.test`, pushed.domain] },
          users: [sipUser(pushed)],
          policies: { sessionTimer: { enabled: false } },
        });
        await reported(agentId, version, 'applied');
        const r = await register(remote, pushed);
        expect(r.ok, r.output).toBe(true);
        expect((await register(remote, filePhone(main))).ok).toBe(true);
      });

      it('a document a layer refuses is reported rejected with the field, and the last one keeps serving', async () => {
        // Valid for the schema; refused by the media layer (no even/odd RTP/RTCP pair in 20001–20002),
        // and by the registrar (minExpires above the file's maxExpires).
        const refused: [number, ManagedConfig, string][] = [
          [3, { domains: ['other.test'], media: { portMin: 20_001, portMax: 20_002 } }, 'media.portMin'],
          [4, { domains: ['other.test'], registrar: { minExpiresSec: 7200 } }, 'sip.registrar.minExpiresSec'],
        ];
        for (const [version, config, path] of refused) {
          await pushDesired(cp, agentId, { version, config, users: [], policies: {} });
          const row = await eventually(`version ${version} rejected`, async () => {
            const a = await agentRow(agentId);
            return a?.reportedStatus === 'rejected' && a.errors.some((e: { path: string }) => e.path === path)
              ? a
              : undefined;
          });
          expect(row.appliedVersion).toBe(2);
          const r = await register(remote, pushed);
          expect(r.ok, r.output).toBe(true);
        }
      });

      it('a pushed policy reaches the registrar at once, and a later push without it returns to the file', async () => {
        const base = { config: { domains: [`${main}.file.test`, pushed.domain] }, users: [sipUser(pushed)] };
        const deny = await pushDesired(cp, agentId, {
          version: 5,
          ...base,
          policies: { registerDenyFrom: ['127.0.0.0/8'] },
        });
        await reported(agentId, deny, 'applied');
        const refused = await runSipp({
          scenario: { xml: plainRegister({ ...pushed }, 403), name: `deny-${Date.now()}.xml` },
          dir,
          remote,
          timeoutSec: 15,
          recvTimeoutMs: 4000,
        });
        expect(refused.code, refused.output).toBe(0);
        expect(refused.received.get('403')?.messages).toBe(1);
        const lifted = await pushDesired(cp, agentId, { version: 6, ...base, policies: {} });
        await reported(agentId, lifted, 'applied');
        const r = await register(remote, pushed);
        expect(r.ok, r.output).toBe(true);
      });
    });

    describe('an agent that loses its broker', () => {
      let agentId: string;
      let relay: MqttRelay;
      const name = 'remote';
      const erin: Phone = { user: 'erin', domain: `${name}.file.test`, password: 'erin-pw' };
      const frank: Phone = { user: 'frank', domain: `${name}.file.test`, password: 'frank-pw' };

      beforeAll(async () => {
        const broker = new URL(cp.mqttUrl);
        relay = await startMqttRelay({ host: broker.hostname, port: Number(broker.port || 1883) });
        const e = await enroll(name);
        agentId = e.agentId;
        await startSiteAgent(name, e.token, `mqtt://127.0.0.1:${relay.port}`);
        await eventually('agent online', async () => (await agentRow(agentId))?.online);
      });
      afterAll(async () => {
        await relay?.down();
      });

      it('reverts by itself when it cannot report within revertAfterSec, says so when back, then applies the next version', async () => {
        const agent = procs.at(-1)!;
        const cut = relay.cutAfter(topics.desired(agentId));
        await pushDesired(cp, agentId, {
          version: 1,
          config: {},
          users: [sipUser(erin)],
          policies: {},
          revertAfterSec: 3,
        });
        await cut; // the agent got version 1; the broker is now unreachable
        await agent.waitForLog((l) => l.msg === 'desired state applied' && l.appliedVersion === 1, 10_000);
        const reverted = await agent.waitForLog((l) => l.msg?.includes('reverted') === true, 15_000);
        expect(reverted).toMatchObject({ revertedVersion: 1, appliedVersion: null, revertAfterSec: 3 });
        await relay.up();
        const row = await eventually(
          'reverted reported',
          async () => {
            const a = await agentRow(agentId);
            return a?.reportedStatus === 'reverted' ? a : undefined;
          },
          40_000,
        );
        expect(row.appliedVersion).toBeNull();
        expect(row.errors[0]?.message).toMatch(
          /version 1 was applied but could not be reported .* within 3 s/,
        );
        // The retained version 1 was delivered again on reconnect and not re-applied.
        expect(agent.logs().filter((l) => l.msg === 'desired state applied')).toHaveLength(1);
        const version = await pushDesired(cp, agentId, {
          version: 2,
          config: {},
          users: [sipUser(frank)],
          policies: {},
        });
        await reported(agentId, version, 'applied');
      }, 90_000);

      it('boots on the persisted desired state with no broker reachable: a pushed-only user registers', async () => {
        const first = procs.at(-1)!;
        expect((await first.stop()).code).toBe(0);
        await relay.down(); // nothing listens on the broker address the agent dials any more
        const started = await startSiteAgent(name, undefined, `mqtt://127.0.0.1:${relay.port}`);
        expect(started.ready.appliedVersion).toBe(2);
        const r = await register(started.remote, frank);
        expect(r.ok, r.output).toBe(true);
        // And it really is offline from the control plane's point of view.
        expect((await agentRow(agentId))?.online).toBe(false);
      }, 60_000);
    });
  },
);
