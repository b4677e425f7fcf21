import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

/** Connects an mqtt.js client with no reconnects and a bounded connect; rejects with the CONNACK error. */
export async function connectClient(url: string, opts: IClientOptions): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...opts });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('connect timed out')), 6_000);
      client.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      client.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      client.once('close', () => {
        clearTimeout(timer);
        reject(new Error('connection closed before CONNACK'));
      });
    });
  } catch (e) {
    client.end(true);
    throw e;
  }
  return client;
}

/**
 * Subscribes and returns the granted QoS / reason code (≥ 0x80 means refused).
 * A refusal surfacing as an error or a dropped connection also counts as refused (0x80).
 */
export async function trySubscribe(client: MqttClient, filter: string): Promise<number> {
  try {
    const granted = await Promise.race([
      client.subscribeAsync(filter, { qos: 1 }),
      new Promise<never>((_, rej) => setTimeout(() => rej(new Error('suback timeout')), 5_000)),
    ]);
    return granted[0]?.qos ?? 0x80;
  } catch {
    return 0x80;
  }
}

/** Collects messages on a topic for a bounded time. */
export function collect(client: MqttClient, topic: string) {
  const got: string[] = [];
  client.on('message', (t, payload) => {
    if (t === topic) got.push(payload.toString());
  });
  return got;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
