import { EnrollResponseSchema, topics } from '@sipwall/shared';
import { connectAsync, type MqttClient } from 'mqtt';

/**
 * Stand-in for the real agent (used only when `agent/src/cli.ts` is absent): trades the token at
 * `POST /api/enroll`, connects with the issued credentials and publishes the retained `online` status.
 */
export async function startFakeAgent(cpUrl: string, token: string): Promise<{ stop(): Promise<void> }> {
  const res = await fetch(`${cpUrl}/api/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, agentVersion: 'dashboard-test' }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`enroll failed: ${res.status} ${await res.text()}`);
  const enrolled = EnrollResponseSchema.parse(await res.json());
  const status = topics.status(enrolled.agentId);
  const client: MqttClient = await connectAsync(enrolled.mqtt.url, {
    clientId: enrolled.mqtt.clientId,
    username: enrolled.mqtt.username,
    password: enrolled.mqtt.password,
    connectTimeout: 10_000,
    reconnectPeriod: 0,
    will: { topic: status, payload: Buffer.from(JSON.stringify({ state: 'offline' })), qos: 1, retain: true },
  });
  await client.publishAsync(status, JSON.stringify({ state: 'online' }), { qos: 1, retain: true });
  return { stop: () => client.endAsync() };
}
