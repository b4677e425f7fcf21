import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { isValidAgentId } from '@sipwall/shared';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { StartError } from '../errors.js';
import type { Logger } from '../logger.js';
import { verifySecret } from '../security/password.js';
import { randomToken, safeEqual, verifyMachineSecret } from '../security/tokens.js';
import { decidePublish, decideSubscribe, type Principal } from './acl.js';
import { indexedMemoryPersistence } from './retained-index.js';

/** Credentials of the control plane's own bridge client; generated at every start. */
export interface ServiceCredentials {
  username: string;
  password: string;
}

/** A running embedded broker. */
export interface EmbeddedBroker {
  readonly host: string;
  readonly port: number;
  readonly service: ServiceCredentials;
  /** Drops the agent's live session (after its credentials were revoked in the database). */
  disconnect(agentId: string): void;
  /**
   * Publishes a retained QoS 1 message from inside the process (as the control plane's own
   * service; an empty payload clears the topic). No MQTT connection in between: one client's
   * publishes are handled one after another, which made a fleet-wide push wait on the broker.
   */
  publishRetained(topic: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

// MQTT 3.1.1 CONNACK return codes (aedes' AuthErrorCode is a const enum we cannot import).
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

function authError(message: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/**
 * Starts aedes (MQTT 3.1.1; aedes v1 does not speak MQTT 5 nor `$share`) on a TCP server with
 * per-agent authentication (scrypt hash in the database) and the topic ACL of `acl.ts`.
 * Rejects with `StartError('MQTT_PORT_IN_USE')` when the port is taken.
 */
export async function startEmbeddedBroker(params: {
  host: string;
  port: number;
  /** The stored scrypt hash of an agent's MQTT password, or null (unknown / not enrolled). */
  lookupPasswordHash: (agentId: string) => Promise<string | null>;
  logger: Logger;
}): Promise<EmbeddedBroker> {
  const { logger } = params;
  const service: ServiceCredentials = { username: `sipwall-cp-${randomToken(6)}`, password: randomToken() };
  const principals = new WeakMap<Client, Principal>();

  const broker = await Aedes.createBroker({
    persistence: indexedMemoryPersistence(),
    authenticate(client, username, password, done) {
      const pw = password?.toString('utf8') ?? '';
      if (username === service.username) {
        if (safeEqual(pw, service.password)) {
          principals.set(client, { kind: 'service' });
          return done(null, true);
        }
        return done(authError('bad credentials', BAD_USERNAME_OR_PASSWORD), false);
      }
      if (!username || !isValidAgentId(username)) {
        return done(authError('bad credentials', BAD_USERNAME_OR_PASSWORD), false);
      }
      // The client id must be the agent id, so one agent cannot take over another's session.
      if (client.id !== username)
        return done(authError('client id must equal username', NOT_AUTHORIZED), false);
      params
        .lookupPasswordHash(username)
        .then(async (hash) => {
          // Legacy scrypt hashes (agents enrolled before machine secrets moved to SHA-256) still verify.
          if (
            hash &&
            (verifyMachineSecret(pw, hash) || (hash.startsWith('scrypt$') && (await verifySecret(pw, hash))))
          ) {
            principals.set(client, { kind: 'agent', agentId: username });
            done(null, true);
          } else {
            logger.warn({ username }, 'mqtt authentication failed');
            done(authError('bad credentials', BAD_USERNAME_OR_PASSWORD), false);
          }
        })
        .catch((e: unknown) => {
          logger.error({ err: e }, 'mqtt authentication error');
          done(authError('server unavailable', 3), false);
        });
    },
    authorizePublish(client, packet, callback) {
      if (client === null) return callback(null); // the broker's own publishes
      const principal = principals.get(client);
      const verdict =
        principal === undefined
          ? 'no-principal'
          : decidePublish(principal, {
              topic: packet.topic,
              retain: packet.retain,
              payloadBytes: Buffer.byteLength(packet.payload),
            });
      if (verdict === 'ok') return callback(null);
      logger.warn({ clientId: client.id, topic: packet.topic, reason: verdict }, 'mqtt publish refused');
      callback(new Error('publish not authorized'));
    },
    authorizeSubscribe(client, sub, callback) {
      const principal = principals.get(client);
      const verdict = principal === undefined ? 'no-principal' : decideSubscribe(principal, sub.topic);
      if (verdict === 'ok') return callback(null, sub);
      logger.warn({ clientId: client.id, topic: sub.topic, reason: verdict }, 'mqtt subscribe refused');
      // null subscription → SUBACK 0x80 (MQTT 3.1.1 §3.9.3), the client stays connected.
      callback(null, null);
    },
  });

  const server: Server = createServer((socket) => broker.handle(socket));
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  try {
    server.listen(params.port, params.host);
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([e]) => {
        throw e;
      }),
    ]);
  } catch (e) {
    await new Promise<void>((r) => broker.close(() => r()));
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new StartError(
        'MQTT_PORT_IN_USE',
        `MQTT port ${params.host}:${params.port} is already in use; set MQTT_PORT to a free port, or MQTT_URL to use an existing broker`,
        { cause: e },
      );
    }
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: params.host, port }, 'embedded mqtt broker listening');

  return {
    host: params.host,
    port,
    service,
    disconnect(agentId) {
      const client = (broker as unknown as { clients: Record<string, Client | undefined> }).clients[agentId];
      if (client) {
        logger.info({ agentId }, 'revoked agent disconnected');
        client.close();
      }
    },
    publishRetained(topic, payload) {
      return new Promise<void>((resolve, reject) =>
        broker.publish(
          { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: true, dup: false },
          (e?: Error | null) => (e ? reject(e) : resolve()),
        ),
      );
    },
    async close() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => broker.close(() => r()));
      await closed;
    },
  };
}
