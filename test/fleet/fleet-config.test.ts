import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ControlPlane } from '@sipwall/control-plane';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveSipp, runSipp, SKIP_SUFFIX } from '../../agent/test/helpers/sipp.js';
import { type SpawnedAgent, startAgent } from '../../agent/test/helpers/spawn-agent.js';
import { digestRegister } from '../../agent/test/sipp/register-scenarios.js';
import { apiClient, eventually } from '../helpers/api-client.js';
import { controlPlaneOn, type ServicesUnderTest, servicesUnderTest } from '../helpers/services.js';

const ADMIN = { email: 'admin@config.test', password: 'fleet-config-password-1234' };
const d = haveSipp ? describe : describe.skip;

/**
 * Configuration through the control plane reaches real agent processes: a SIP user added over
 * tRPC registers (SIPp, digest MD5) within seconds; an organization-wide policy change is applied
 * by three agents; a rollback brings earlier policies back but never a revoked password. Embedded
 * defaults, and real PostgreSQL + Mosquitto when DATABASE_URL/MQTT_URL are set.
 */
d(`fleet configuration reaches real agents${SKIP_SUFFIX}`, () => {
  let services: ServicesUnderTest;
  let cp: ControlPlane;
  let dir: string;
  const procs: SpawnedAgent[] = [];
  let client: ReturnType<typeof apiClient>;
  let orgId: string;
  const fleet: { siteId: string; agentId: string; domain: string; sipPort: number }[] = [];

  beforeAll(async () => {
    services = await servicesUnderTest();
    cp = await controlPlaneOn(services, ADMIN);
    dir = mkdtempSync(join(tmpdir(), 'sipwall-fleet-config-'));
    client = apiClient(cp.url);
    await client.auth.signIn.mutate(ADMIN);
    orgId = (await client.organizations.create.mutate({ name: `Config e2e (${services.label})` })).id;
    for (const n of [1, 2, 3]) {
      const domain = `site${n}.example.test`;
      const site = await client.sites.create.mutate({ organizationId: orgId, name: `Site ${n}` });
      const { agent, enrollmentToken } = await client.agents.create.mutate({
        siteId: site.id,
        name: `fw-${n}`,
      });
      const configFile = join(dir, `agent-${n}.json`);
      writeFileSync(
        configFile,
        JSON.stringify({
          site: `site-${n}`,
          stateDir: join(dir, `state-${n}`),
          controlPlane: { url: cp.url, enrollmentToken },
          sip: {
            domains: [domain],
            interfaces: [
              { name: 'inside', role: 'inside', address: '127.0.0.1', port: 0, transports: ['udp'] },
            ],
            registrar: { mode: 'main', minExpiresSec: 2, maxExpiresSec: 7200, defaultExpiresSec: 3600 },
          },
          policies: { registerAllowFrom: ['127.0.0.1/32'] },
          admin: { address: '127.0.0.1', port: 0 },
        }),
      );
      const started = await startAgent(['--config', configFile, '--admin-port', '0']);
      procs.push(started.agent);
      const sip = started.ready.sip as { transport: string; port: number }[];
      fleet.push({
        siteId: site.id,
        agentId: agent.id,
        domain,
        sipPort: sip.find((l) => l.transport === 'udp')?.port ?? 0,
      });
    }
    for (const f of fleet)
      await eventually(
        `${f.agentId} online`,
        async () => (await client.agents.get.query({ agentId: f.agentId })).online,
      );
  });

  afterAll(async () => {
    for (const p of procs) await p.stop().catch(() => {});
    await cp?.stop();
    await services?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Waits until the agent reports `version` applied. */
  const applied = (agentId: string, version: number | null | undefined) =>
    eventually(`${agentId} applied version ${version}`, async () => {
      const a = await client.agents.get.query({ agentId });
      if (a.reportedStatus === 'rejected') throw new Error(`rejected: ${JSON.stringify(a.errors)}`);
      return a.appliedVersion === version && a.reportedStatus === 'applied' ? a : undefined;
    });

  /** One SIPp digest REGISTER as `user` with `password` against agent `f`; the final status. */
  const register = async (f: (typeof fleet)[number], user: string, password: string, name: string) => {
    const run = await runSipp({
      dir,
      remote: `127.0.0.1:${f.sipPort}`,
      authUri: f.domain,
      scenario: { xml: digestRegister({ user, domain: f.domain, password }), name },
      timeoutSec: 10,
    });
    return run;
  };

  let firstPassword = '';

  it('a SIP user added through tRPC registers on the real agent within seconds', async () => {
    const f = fleet[0]!;
    // Unknown before the control plane adds it.
    const before = await register(f, 'alice', 'not-yet-a-user-password', 'alice-0.xml');
    expect(before.received.get('200')?.messages ?? 0, before.output).toBe(0);
    const started = Date.now();
    const created = await client.sipUsers.create.mutate({
      siteId: f.siteId,
      username: 'alice',
      domain: f.domain,
      password: { generate: true },
    });
    firstPassword = created.generatedPassword ?? '';
    expect(firstPassword.length).toBeGreaterThanOrEqual(20);
    const version = created.pushed.find((p) => p.agentId === f.agentId)?.version;
    expect(version).toBe(1);
    await applied(f.agentId, version);
    const run = await register(f, 'alice', firstPassword, 'alice-1.xml');
    expect(run.code, run.output).toBe(0);
    expect(run.received.get('200')?.messages).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
    // The other sites did not get alice (nor any version).
    for (const other of fleet.slice(1))
      expect((await client.agents.get.query({ agentId: other.agentId })).desiredVersion).toBeNull();
  });

  it('an organization-level policy change reaches all three agents, each reports it applied', async () => {
    const r = await client.organizations.setConfig.mutate({
      organizationId: orgId,
      policies: {
        bruteForce: { maxFailures: 7, windowSec: 60, blockSec: 300 },
        dropUserAgents: ['evil-scanner'],
      },
    });
    expect(r.pushed.map((p) => p.agentId).sort()).toEqual(fleet.map((f) => f.agentId).sort());
    for (const p of r.pushed) {
      expect(p.changed).toBe(true);
      const a = await applied(p.agentId, p.version);
      expect(a.desiredVersion).toBe(p.version);
    }
    // Users survived the policy push on site 1.
    const run = await register(fleet[0]!, 'alice', firstPassword, 'alice-2.xml');
    expect(run.received.get('200')?.messages, run.output).toBe(1);
  });

  it('rollback to the first version brings its policies back, never its revoked password', async () => {
    const f = fleet[0]!;
    const reset = await client.sipUsers.resetPassword.mutate({
      userId: (await client.sipUsers.list.query({ siteId: f.siteId }))[0]!.id,
      password: { password: 'second-password-for-alice' },
    });
    const v = reset.pushed[0]!.version;
    await applied(f.agentId, v);
    const second = await register(f, 'alice', 'second-password-for-alice', 'alice-3.xml');
    expect(second.received.get('200')?.messages, second.output).toBe(1);

    const diff = await client.agents.diff.query({ agentId: f.agentId, from: 1, to: v! });
    expect(diff.changes.map((c) => c.path)).toContain('users.alice@site1.example.test.ha1.md5');
    expect(JSON.stringify(diff)).not.toMatch(/[0-9a-f]{32}/);

    const rolled = await client.agents.rollback.mutate({ agentId: f.agentId, version: 1 });
    expect(rolled).toMatchObject({ version: v! + 1, changed: true });
    await applied(f.agentId, rolled.version);
    const rolledVersion = rolled.version!;
    // Version 1's policies (none: the organization's change came in version 2) are back …
    const back = await client.agents.diff.query({ agentId: f.agentId, from: v!, to: rolledVersion });
    expect(back.changes.length).toBeGreaterThan(0);
    expect(back.changes.every((c) => c.path.startsWith('policies.'))).toBe(true);
    // … but the users are today's: the reset password works, the revoked first one does not.
    const current = await register(f, 'alice', 'second-password-for-alice', 'alice-4.xml');
    expect(current.received.get('200')?.messages, current.output).toBe(1);
    const revoked = await register(f, 'alice', firstPassword, 'alice-5.xml');
    expect(revoked.received.get('200')?.messages ?? 0, revoked.output).toBe(0);
  });
});
