import { topics } from '@sipwall/shared';
import type { MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynsecClient, dynsecProvisioner } from '../../src/ingest/dynsec.js';
import { mosquittoMissing, startMosquittoDynsec, type TestMosquitto } from '../helpers/mosquitto.js';
import { collect, connectClient, sleep, trySubscribe } from '../helpers/mqtt-client.js';

const missing = mosquittoMissing();
const d = missing ? describe.skip : describe;

/**
 * Agents enrolled by an older release have a role granting their whole subtree (`<prefix>#`),
 * so their credentials could publish a retained `desired`. Re-provisioning narrows the role.
 */
d(`dynsec: re-provisioning narrows a legacy agent role${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let mosquitto: TestMosquitto;
  const clients: MqttClient[] = [];
  const agentId = 'ag-legacy-0001';
  const connect = async (username: string, password: string, clientId = username) => {
    const c = await connectClient(`mqtt://127.0.0.1:${mosquitto.port}`, {
      clientId,
      username,
      password,
      protocolVersion: 5,
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    mosquitto = await startMosquittoDynsec();
  });
  afterAll(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => {});
    await mosquitto?.stop();
  });

  it('a legacy role lets the agent write its retained desired; after re-provisioning it cannot', async () => {
    const admin = await connect(mosquitto.admin.username, mosquitto.admin.password, 'cp-admin');
    const dynsec = new DynsecClient(admin, pino({ level: 'silent' }));
    await dynsec.attach();
    const tree = `sipwall/v1/agents/${agentId}/#`;
    await dynsec.run([
      {
        command: 'createRole',
        rolename: `agent-${agentId}`,
        acls: ['publishClientSend', 'subscribePattern', 'publishClientReceive', 'unsubscribePattern'].map(
          (acltype) => ({ acltype, topic: tree, priority: 0, allow: true }),
        ),
      },
      { command: 'createClient', username: agentId, password: 'legacy-password-1', clientid: agentId },
      { command: 'addClientRole', username: agentId, rolename: `agent-${agentId}`, priority: 0 },
    ]);
    const legacy = await connect(agentId, 'legacy-password-1');
    await legacy.publishAsync(topics.desired(agentId), 'written-by-legacy-agent', { qos: 1, retain: true });
    await legacy.endAsync(true);

    await dynsecProvisioner(dynsec).provisionAgent(agentId, 'new-password-123');
    const agent = await connect(agentId, 'new-password-123');
    agent.publish(topics.desired(agentId), 'written-after-narrowing', { qos: 1, retain: true });
    expect(await trySubscribe(agent, `sipwall/v1/agents/${agentId}/#`)).toBeGreaterThanOrEqual(0x80);
    expect(
      await trySubscribe(await connect(agentId, 'new-password-123'), topics.desired(agentId)),
    ).toBeLessThan(0x80);
    await sleep(500);

    // The retained desired is still the one the legacy role let through (proving the legacy role
    // was wide), not the one written after narrowing.
    const retained = collect(admin, topics.desired(agentId));
    expect(await trySubscribe(admin, topics.desired(agentId))).toBeLessThan(0x80);
    await sleep(700);
    expect(retained).toEqual(['written-by-legacy-agent']);
  });
});
