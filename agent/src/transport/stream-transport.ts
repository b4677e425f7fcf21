import { isIPv6, type Server, type Socket, connect as tcpConnect, createServer as tcpServer } from 'node:net';
import { connect as tlsConnect, createServer as tlsServer } from 'node:tls';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../util/clock.js';
import { ConnectionTable } from './connection-table.js';
import type { TransportCounters } from './counters.js';
import { StreamFramer } from './stream-framer.js';
import { TransportError, toTransportError } from './transport-error.js';
import type { Endpoint, InboundSink, StreamTransport } from './types.js';
import { beforeSend } from '../util/send-barrier.js';

export interface StreamLimits {
  readonly maxMessageBytes: number;
  readonly maxHeaderBytes: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerSource: number;
  readonly idleTimeoutMs: number;
}

export interface StreamTransportOptions {
  readonly protocol: 'tcp' | 'tls';
  readonly interfaceName: string;
  readonly address: string;
  readonly port: number;
  readonly limits: StreamLimits;
  /** Required for `tls`: PEM certificate chain and key. */
  readonly tls?: {
    readonly cert: Buffer | string;
    readonly key: Buffer | string;
    readonly rejectUnauthorized?: boolean;
  };
  readonly connectTimeoutMs?: number;
  readonly sink: InboundSink;
  readonly counters: TransportCounters;
  readonly clock: Clock;
  readonly logger: Logger;
}

interface Connection {
  readonly id: number;
  readonly remote: Endpoint;
  readonly socket: Socket;
  readonly framer: StreamFramer;
  lastActivity: number;
  idleTimer: TimerHandle | undefined;
  closing: boolean;
}

const CRLF = Buffer.from('\r\n', 'latin1');
/** After a framing violation: how long the peer gets to read our 400 before the socket is destroyed. */
const LINGER_MS = 2000;

/**
 * SIP over TCP or TLS on one interface: accepts connections within the configured limits,
 * frames by Content-Length, answers CRLF pings, closes idle connections, and reuses open
 * connections (indexed by remote address+port) for sending.
 */
export class StreamTransportListener implements StreamTransport {
  readonly reliable = true;
  readonly protocol: 'tcp' | 'tls';
  readonly interfaceName: string;
  private readonly table: ConnectionTable<Connection>;
  private readonly pendingConnects = new Map<string, Promise<Connection>>();
  private nextId = 1;
  private closed = false;
  private readonly log: Logger;

  private constructor(
    private readonly server: Server,
    readonly local: Endpoint,
    private readonly options: StreamTransportOptions,
  ) {
    this.protocol = options.protocol;
    this.interfaceName = options.interfaceName;
    this.table = new ConnectionTable(options.protocol);
    this.log = options.logger.child({ transport: options.protocol, interface: options.interfaceName });
  }

  static async listen(options: StreamTransportOptions): Promise<StreamTransportListener> {
    if (options.protocol === 'tls' && options.tls === undefined) {
      throw new TransportError('unsupported-transport', 'tls listener needs a certificate and key');
    }
    const server =
      options.protocol === 'tls' && options.tls !== undefined
        ? tlsServer({ cert: options.tls.cert, key: options.tls.key })
        : tcpServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: options.port, host: options.address, ipv6Only: isIPv6(options.address) }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address();
    if (bound === null || typeof bound === 'string') throw new Error('stream listener has no address');
    const listener = new StreamTransportListener(
      server,
      { address: bound.address, port: bound.port },
      options,
    );
    server.on(options.protocol === 'tls' ? 'secureConnection' : 'connection', (s: Socket) =>
      listener.accept(s),
    );
    server.on('error', (e) => listener.log.warn({ err: e }, 'listener error'));
    if (options.protocol === 'tls') {
      server.on('tlsClientError', (e) => listener.log.debug({ err: e }, 'tls handshake failed'));
    }
    return listener;
  }

  get connectionCount(): number {
    return this.table.size;
  }

  private accept(socket: Socket): void {
    const remote = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    if (this.closed || !this.table.admits(remote.address, this.options.limits)) {
      this.options.counters.connectionsRefused++;
      this.log.warn({ remote }, 'connection refused: connection limit reached');
      socket.destroy();
      return;
    }
    this.adopt(socket, remote);
  }

  private adopt(socket: Socket, remote: Endpoint): Connection {
    const connection: Connection = {
      id: this.nextId++,
      remote,
      socket,
      framer: new StreamFramer(this.options.limits),
      lastActivity: this.options.clock.now(),
      idleTimer: undefined,
      closing: false,
    };
    this.table.add(connection);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(connection, chunk));
    socket.on('error', (e) => this.log.debug({ err: e, remote }, 'connection error'));
    socket.on('close', () => this.forget(connection));
    this.armIdleTimer(connection, this.options.limits.idleTimeoutMs);
    return connection;
  }

  private forget(connection: Connection): void {
    this.table.remove(connection);
    if (connection.idleTimer !== undefined) this.options.clock.clearTimeout(connection.idleTimer);
    connection.idleTimer = undefined;
  }

  /** One timer per connection, re-armed lazily: it only looks at `lastActivity` when it fires. */
  private armIdleTimer(connection: Connection, ms: number): void {
    connection.idleTimer = this.options.clock.setTimeout(() => {
      connection.idleTimer = undefined;
      if (connection.socket.destroyed) return;
      const idleFor = this.options.clock.now() - connection.lastActivity;
      const left = this.options.limits.idleTimeoutMs - idleFor;
      if (left > 0) {
        this.armIdleTimer(connection, left);
        return;
      }
      this.options.counters.connectionsIdleClosed++;
      this.log.debug({ remote: connection.remote }, 'closing idle connection');
      connection.socket.destroy();
    }, ms);
  }

  private onData(connection: Connection, chunk: Buffer): void {
    if (connection.closing) return;
    connection.lastActivity = this.options.clock.now();
    for (const event of connection.framer.push(chunk)) {
      if (event.kind === 'pong') {
        this.options.counters.keepAlivePongs++;
        connection.socket.write(CRLF);
      } else if (event.kind === 'message') {
        this.options.counters.streamMessagesReceived++;
        try {
          this.options.sink.onMessage({
            bytes: event.bytes,
            source: connection.remote,
            transport: this,
            connectionId: connection.id,
          });
        } catch (e) {
          this.options.counters.handlerErrors++;
          this.log.error({ err: e }, 'stream message handler failed; message dropped');
        }
      } else {
        this.options.counters.framingErrors++;
        this.log.info(
          { remote: connection.remote, reason: event.reason },
          'framing violation: closing connection',
        );
        connection.closing = true;
        void this.failConnection(connection, event.reason, event.headerBytes);
      }
    }
  }

  private async failConnection(
    connection: Connection,
    reason: import('./stream-framer.js').FramingErrorReason,
    headerBytes: Buffer | undefined,
  ): Promise<void> {
    try {
      await this.options.sink.onStreamError({
        reason,
        ...(headerBytes !== undefined ? { headerBytes } : {}),
        source: connection.remote,
        transport: this,
        connectionId: connection.id,
      });
    } catch (e) {
      this.options.counters.handlerErrors++;
      this.log.error({ err: e }, 'stream error handler failed');
    }
    this.closeConnection(connection.id);
  }

  closeConnection(connectionId: number): void {
    const connection = this.table.get(connectionId);
    if (connection === undefined) return;
    connection.closing = true;
    connection.socket.end();
    this.options.clock.setTimeout(() => connection.socket.destroy(), LINGER_MS);
  }

  async sendOnConnection(connectionId: number, bytes: Uint8Array): Promise<boolean> {
    const connection = this.table.get(connectionId);
    if (connection === undefined || connection.socket.destroyed || !connection.socket.writable) return false;
    await this.write(connection, bytes);
    return true;
  }

  async send(bytes: Uint8Array, to: Endpoint): Promise<void> {
    if (this.closed) throw new TransportError('closed', `${this.protocol} transport is closed`);
    const open = this.table.findByRemote(to);
    const connection = open?.socket.writable ? open : await this.connect(to);
    await this.write(connection, bytes);
  }

  private write(connection: Connection, bytes: Uint8Array): Promise<void> {
    connection.lastActivity = this.options.clock.now();
    beforeSend();
    return new Promise<void>((resolve, reject) => {
      try {
        connection.socket.write(bytes, (e) => (e ? reject(toTransportError('send-failed', e)) : resolve()));
      } catch (e) {
        reject(toTransportError('send-failed', e));
      }
    });
  }

  /** Opens (or joins an in-flight attempt to open) a connection to `to`, within `maxConnections`. */
  private connect(to: Endpoint): Promise<Connection> {
    const key = `${to.address}|${to.port}`;
    const pending = this.pendingConnects.get(key);
    if (pending !== undefined) return pending;
    if (this.table.size >= this.options.limits.maxConnections) {
      return Promise.reject(new TransportError('connection-limit', 'maxConnections reached'));
    }
    const attempt = new Promise<Connection>((resolve, reject) => {
      const base = { host: to.address, port: to.port, localAddress: this.local.address };
      const socket =
        this.protocol === 'tls'
          ? tlsConnect({ ...base, rejectUnauthorized: this.options.tls?.rejectUnauthorized ?? true })
          : tcpConnect(base);
      const timer = this.options.clock.setTimeout(() => {
        socket.destroy();
        reject(new TransportError('connect-failed', `connect to ${to.address}:${to.port} timed out`));
      }, this.options.connectTimeoutMs ?? 10_000);
      socket.once('error', (e) => {
        this.options.clock.clearTimeout(timer);
        reject(toTransportError('connect-failed', e));
      });
      socket.once(this.protocol === 'tls' ? 'secureConnect' : 'connect', () => {
        this.options.clock.clearTimeout(timer);
        if (this.closed) {
          socket.destroy();
          reject(new TransportError('closed', `${this.protocol} transport is closed`));
          return;
        }
        resolve(this.adopt(socket, to));
      });
    });
    this.pendingConnects.set(key, attempt);
    const clear = () => this.pendingConnects.delete(key);
    attempt.then(clear, clear);
    return attempt;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const connection of this.table.all()) {
      connection.socket.destroy();
      this.forget(connection);
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
