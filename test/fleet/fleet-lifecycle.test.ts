import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ControlPlane } from '@sipwall/control-plane';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SpawnedAgent, startAgent } from '../../agent/test/helpers/spawn-agent.js';
import { apiClient, eventually } from '../helpers/api-client.js';
import { controlPlaneOn, type ServicesUnderTest, servicesUnderTest } from '../helpers/services.js';

const ADMIN = { email: 'admin@fleet.test', password: 'fleet-e2e-password-1234' };

/**
 * The whole slice: control plane (tRPC, database, broker, bridge) ↔ a real agent process.
 * Runs on the embedded defaults, and against real PostgreSQL + Mosquitto when DATABASE_URL/MQTT_URL are set.
 */
describe('fleet lifecycle: create, enroll, online, push config, applied, offline', () => {
  let services: ServicesUnderTest;
  let cp: ControlPlane;
  let dir: string;
  const agents: SpawnedAgent[] = [];

  beforeAll(async () => {
    services = await servicesUnderTest();
    cp = await controlPlaneOn(services, ADMIN);
    dir = mkdtempSync(join(tmpdir(), 'sipwall-fleet-'));
  });

  afterAll(async () => {
    for (const a of agents) await a.stop().catch(() => {});
    await cp?.stop();
    await services?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Writes a config for an agent enrolled with `token` and starts the real agent process on free ports. */
  async function startEnrolledAgent(name: string, token: string) {
    const configFile = join(dir, `${name}.yaml`);
    writeFileSync(
      configFile,
      JSON.stringify({
        site: name,
        stateDir: join(dir, `state-${name}`),
        controlPlane: { url: cp.url, enrollmentToken: token },
        sip: {
          domains: [`${name}.example.test`],
          interfaces: [
            { name: 'inside', role: 'inside', address: '127.0.0.1', port: 0, transports: ['udp'] },
          ],
        },
        admin: { address: '127.0.0.1', port: 0 },
      }),
    );
    return startAgent(['--config', configFile, '--sip-port', '0', '--admin-port', '0']);
  }

  it('drives one agent through its whole life', async () => {
    const api = apiClient(cp.url);
    await api.auth.signIn.mutate(ADMIN);
    const org = await api.organizations.create.mutate({ name: `Fleet e2e (${services.label})` });
    const site = await api.sites.create.mutate({ organizationId: org.id, name: 'Branch office' });
    const { agent, enrollmentToken } = await api.agents.create.mutate({ siteId: site.id, name: 'branch-fw' });

    const listed = async () =>
      (await api.agents.list.query({ organizationId: org.id })).find((a) => a.id === agent.id);
    expect((await listed())?.online).toBe(false);

    const { agent: proc, adminPort } = await startEnrolledAgent('branch', enrollmentToken);
    agents.push(proc);

    await eventually('agent online in the control plane', async () => (await listed())?.online);

    const { pushed } = await api.sites.setConfig.mutate({
      siteId: site.id,
      config: { domains: ['branch.example.test', 'voice.example.test'] },
    });
    const version = pushed.find((p) => p.agentId === agent.id)?.version;
    expect(version).toBe(1);
    const applied = await eventually('desired version reported applied', async () => {
      const a = await listed();
      return a?.appliedVersion === version ? a : undefined;
    });
    expect(applied.reportedStatus).toBe('applied');

    // The agent itself says the same on its admin API.
    const health = (await (await fetch(`http://127.0.0.1:${adminPort}/healthz`)).json()) as Record<
      string,
      unknown
    >;
    expect(health.appliedVersion).toBe(version);

    const exit = await proc.stop();
    expect(exit.code).toBe(0);
    await eventually('agent offline after stop', async () => (await listed())?.online === false);
  });

  it('sees an agent offline through its last will when the process dies', async () => {
    const api = apiClient(cp.url);
    await api.auth.signIn.mutate(ADMIN);
    const [org] = await api.organizations.list.query();
    if (!org) throw new Error('organization from the first test is missing');
    const site = await api.sites.create.mutate({ organizationId: org.id, name: 'Kill site' });
    const { agent, enrollmentToken } = await api.agents.create.mutate({ siteId: site.id, name: 'kill-fw' });
    const listed = async () =>
      (await api.agents.list.query({ organizationId: org.id })).find((a) => a.id === agent.id);

    const { agent: proc } = await startEnrolledAgent('kill', enrollmentToken);
    agents.push(proc);
    await eventually('second agent online', async () => (await listed())?.online);
    proc.kill('SIGKILL');
    // The broker publishes the will once it notices the dead connection (socket closed by the kernel).
    await eventually('offline via last will', async () => (await listed())?.online === false, 30_000);
  });
});
