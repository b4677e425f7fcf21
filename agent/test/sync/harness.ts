import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { serve } from '@hono/node-server';
import type { EnrollResponse } from '@sipwall/shared';
import { Aedes } from 'aedes';
import { Hono } from 'hono';
import mqtt, { type MqttClient } from 'mqtt';

/** An in-process aedes broker on 127.0.0.1:0 that accepts only the given username/password. */
export interface TestBroker {
  port: number;
  url: string;
  /** Every topic filter each client id subscribed to, in order. */
  subscriptions: Map<string, string[]>;
  close(): Promise<void>;
}

export async function startBroker(users: Map<string, string>): Promise<TestBroker> {
  const subscriptions = new Map<string, string[]>();
  const broker = await Aedes.createBroker({
    authorizeSubscribe: (client, sub, done) => {
      if (client !== null) subscriptions.set(client.id, [...(subscriptions.get(client.id) ?? []), sub.topic]);
      done(null, sub);
    },
    authenticate: (_client, username, password, done) => {
      const ok = username !== undefined && users.get(username) === password?.toString();
      if (ok) done(null, true);
      else done(Object.assign(new Error('bad credentials'), { returnCode: 4 }), false);
    },
  });
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    broker.handle(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    subscriptions,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
    },
  };
}

/** A stand-in for the control plane's enroll endpoint: each good token works once. */
export interface TestEnroller {
  url: string;
  calls: number;
  close(): Promise<void>;
}

export async function startEnroller(
  tokens: Map<string, EnrollResponse>,
  users: Map<string, string>,
): Promise<TestEnroller> {
  const used = new Set<string>();
  const state = { calls: 0 };
  const app = new Hono();
  app.post('/api/enroll', async (c) => {
    state.calls++;
    const body = (await c.req.json()) as { token?: string; agentVersion?: string };
    const token = body.token ?? '';
    if (used.has(token)) return c.json({ error: 'token-used', message: 'token already used' }, 409);
    const creds = tokens.get(token);
    if (creds === undefined) return c.json({ error: 'invalid-token', message: 'unknown token' }, 401);
    used.add(token);
    users.set(creds.mqtt.username, creds.mqtt.password);
    return c.json(creds);
  });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get calls() {
      return state.calls;
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

/** An MQTT client playing the control plane: records every message per topic. */
export interface Observer {
  client: MqttClient;
  messages: { topic: string; payload: string; retain: boolean }[];
  /** Resolves with the first recorded message on `topic` matching `pred` (bounded). */
  waitFor(
    topic: string,
    pred: (payload: unknown) => boolean,
    timeoutMs?: number,
    since?: number,
  ): Promise<unknown>;
  close(): Promise<void>;
}

export async function startObserver(
  url: string,
  username: string,
  password: string,
  filter: string,
): Promise<Observer> {
  // aedes speaks MQTT 3.1.1 only.
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 4,
    username,
    password,
    reconnectPeriod: 200,
  });
  const messages: Observer['messages'] = [];
  const waiters = new Set<() => void>();
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: payload.toString(), retain: packet.retain });
    for (const w of [...waiters]) w();
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return {
    client,
    messages,
    waitFor(topic, pred, timeoutMs = 15_000, since = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = messages
            .slice(since)
            .filter((m) => m.topic === topic)
            .map((m) => JSON.parse(m.payload) as unknown)
            .find(pred);
          if (hit !== undefined) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`timed out waiting on ${topic}; saw ${JSON.stringify(messages.map((m) => m.topic))}`),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => client.endAsync(true),
  };
}
