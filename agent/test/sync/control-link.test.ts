import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  agentSubscriptionFilters,
  DesiredStateSchema,
  type EnrollResponse,
  encode,
  topics,
} from '@sipwall/shared';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { desiredFixture } from './fixtures.js';
import { spawnAgent, startAgent, stopAllAgents } from '../helpers/spawn-agent.js';
import {
  type Observer,
  startBroker,
  startEnroller,
  startObserver,
  type TestBroker,
  type TestEnroller,
} from './harness.js';

const AGENT_ID = 'agent-sync-1';
const GOOD_TOKEN = 'good-token-0123456789';
const OBSERVER = { username: 'control-plane', password: 'observer-password-123' };

let dir: string;
let broker: TestBroker;
let enroller: TestEnroller;
let observer: Observer;
const users = new Map<string, string>([[OBSERVER.username, OBSERVER.password]]);

async function writeConfig(name: string, stateDir: string, token: string | undefined): Promise<string> {
  const path = join(dir, `${name}.yaml`);
  const tokenLine = token === undefined ? '' : `  enrollmentToken: ${token}\n`;
  await writeFile(
    path,
    `site: sync-lab
stateDir: ${stateDir}
log: { level: debug }
controlPlane:
  url: ${enroller.url}
${tokenLine}sip:
  domains: [example.test]
  interfaces:
    - { name: inside, role: inside, address: 127.0.0.1, port: 0 }
admin: { address: 127.0.0.1, port: 0 }
`,
  );
  return path;
}

const args = (config: string) => ['--config', config, '--sip-port', '0', '--admin-port', '0'];
const healthz = async (port: number) =>
  (await (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5000) })).json()) as {
    controlPlane: string;
    appliedVersion: number | null;
  };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sipwall-sync-'));
  broker = await startBroker(users);
  const creds: EnrollResponse = {
    agentId: AGENT_ID,
    mqtt: { url: broker.url, clientId: AGENT_ID, username: AGENT_ID, password: 'agent-password-0123456789' },
    topicPrefix: `sipwall/v1/agents/${AGENT_ID}/`,
  };
  enroller = await startEnroller(new Map([[GOOD_TOKEN, creds]]), users);
  observer = await startObserver(
    broker.url,
    OBSERVER.username,
    OBSERVER.password,
    `sipwall/v1/agents/${AGENT_ID}/#`,
  );
});
afterEach(stopAllAgents);
afterAll(async () => {
  await observer?.close();
  await enroller?.close();
  await broker?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('control link against a real broker', { timeout: 60_000 }, () => {
  const stateDir = () => join(dir, 'state');

  it('enrolls once, stores credentials 0600, announces online, applies and rejects desired state', async () => {
    const config = await writeConfig('agent', stateDir(), GOOD_TOKEN);
    const { agent } = await startAgent(args(config));

    await observer.waitFor(topics.status(AGENT_ID), (p) => (p as { state: string }).state === 'online');
    const credPath = join(stateDir(), 'credentials.json');
    expect((await stat(credPath)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(credPath, 'utf8'))).toMatchObject({ agentId: AGENT_ID });
    expect(enroller.calls).toBe(1);
    // The token and the MQTT password never reach the log.
    expect(agent.stdout()).not.toContain(GOOD_TOKEN);
    expect(agent.stdout()).not.toContain('agent-password-0123456789');

    await observer.client.publishAsync(
      topics.desired(AGENT_ID),
      encode(DesiredStateSchema, desiredFixture(1)),
      {
        qos: 1,
        retain: true,
      },
    );
    await observer.waitFor(
      topics.reported(AGENT_ID),
      (p) => (p as { appliedVersion: number | null; status: string }).appliedVersion === 1,
    );
    // Subscribed (before its first report) to exactly what its broker ACL grants: desired, ack, rpc/+.
    expect(broker.subscriptions.get(AGENT_ID)).toEqual(agentSubscriptionFilters(AGENT_ID));
    const persisted = JSON.parse(await readFile(join(stateDir(), 'desired.json'), 'utf8')) as {
      version: number;
    };
    expect(persisted.version).toBe(1);

    // Invalid desired: a bad domain. Not via encode (it refuses invalid values), straight JSON.
    const bad = { ...desiredFixture(2), config: { domains: ['not a domain!'] } };
    await observer.client.publishAsync(topics.desired(AGENT_ID), JSON.stringify(bad), { qos: 1 });
    const rejected = (await observer.waitFor(
      topics.reported(AGENT_ID),
      (p) => (p as { status: string }).status === 'rejected',
    )) as { appliedVersion: number; rejectedVersion: number; errors: { path: string }[] };
    expect(rejected.appliedVersion).toBe(1);
    expect(rejected.rejectedVersion).toBe(2);
    expect(rejected.errors.map((e) => e.path)).toContain('config.domains.0');

    const since = observer.messages.length;
    expect(await agent.stop()).toEqual({ code: 0, signal: null });
    await observer.waitFor(
      topics.status(AGENT_ID),
      (p) => (p as { state: string }).state === 'offline',
      5000,
      since,
    );
  });

  it('restarts from stored credentials without re-enrolling; LWT announces offline when killed', async () => {
    const config = await writeConfig('agent-no-token', stateDir(), undefined);
    const since = observer.messages.length;
    const { agent, adminPort } = await startAgent(args(config));
    await observer.waitFor(
      topics.status(AGENT_ID),
      (p) => (p as { state: string }).state === 'online',
      15_000,
      since,
    );
    expect(enroller.calls).toBe(1);
    // Retained desired v1 is redelivered: not re-applied, but reported again.
    await observer.waitFor(
      topics.reported(AGENT_ID),
      (p) => (p as { appliedVersion: number; status: string }).status === 'applied',
      15_000,
      since,
    );
    expect(await healthz(adminPort)).toMatchObject({ controlPlane: 'connected', appliedVersion: 1 });

    const beforeKill = observer.messages.length;
    agent.kill('SIGKILL');
    await agent.waitForExit(5000);
    await observer.waitFor(
      topics.status(AGENT_ID),
      (p) => (p as { state: string }).state === 'offline',
      10_000,
      beforeKill,
    );
  });

  it.each([
    ['token-used', GOOD_TOKEN],
    ['invalid-token', 'never-issued-token-000'],
  ])('exits non-zero naming %s when the token is refused', async (code, token) => {
    const config = await writeConfig(`refused-${code}`, join(dir, `state-${code}`), token);
    const agent = spawnAgent(args(config));
    const exit = await agent.waitForExit(20_000);
    expect(exit.code).toBe(3);
    expect(agent.stderr()).toContain('AGENT_ERR_ENROLL_REFUSED');
    expect(agent.stderr()).toContain(code);
  });

  it('serves the last applied version when the broker is gone', async () => {
    await broker.close();
    const config = await writeConfig('agent-offline', stateDir(), undefined);
    const { adminPort } = await startAgent(args(config));
    expect(await healthz(adminPort)).toMatchObject({ controlPlane: 'disconnected', appliedVersion: 1 });
  });
});
