import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { AgentError } from '../errors.js';

/** A listening admin server; `port` is the real bound port (config port 0 picks one). */
export interface AdminServer {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Binds the admin app on `address:port`.
 * @throws {AgentError} `AGENT_ERR_ADMIN_LISTEN` when the port cannot be bound.
 */
export function startAdminServer(app: Hono, address: string, port: number): Promise<AdminServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: address, port }, (info: AddressInfo) => {
      server.off('error', onError);
      resolve({
        address: info.address,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
    const onError = (e: Error) =>
      reject(
        new AgentError(
          'AGENT_ERR_ADMIN_LISTEN',
          `admin API cannot listen on ${address}:${port}: ${e.message}`,
          {
            cause: e,
          },
        ),
      );
    server.once('error', onError);
  });
}
