import { isIPv6, type Server, type Socket, connect as tcpConnect, createServer as tcpServer } from 'node:net';
import { connect as tlsConnect, createServer as tlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { parseMessage } from '../sip/parse.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { ConnectionEventLog } from './connection-log.js';
import { ConnectionTable } from './connection-table.js';
import type { TransportCounters } from './counters.js';
import { type FramingErrorReason, StreamFramer } from './stream-framer.js';
import { TransportError, toTransportError } from './transport-error.js';
import type { Endpoint, InboundSink, StreamTransport } from './types.js';
import { beforeSend } from '../util/send-barrier.js';

export interface StreamLimits {
  readonly maxMessageBytes: number;
  readonly maxHeaderBytes: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerSource: number;
  readonly idleTimeoutMs: number;
  /** A message whose first bytes arrived must be complete within this, or the connection is closed. */
  readonly messageTimeoutMs: number;
  /** An accepted connection must complete a valid message within this (pings do not count). */
  readonly firstMessageTimeoutMs: number;
  /** Refused/evicted/timed-out connections: one log line at once, then one summary per interval. */
  readonly connectionLogIntervalMs: number;
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
  readonly openedAt: number;
  /**
   * Completed a valid SIP message (or the agent opened it): exempt from the first-message
   * timeout and never evicted to make room.
   */
  proven: boolean;
  lastActivity: number;
  /** When the first bytes of the message now being read arrived; `undefined` between messages. */
  messageStartedAt: number | undefined;
  /** One timer per connection for all its deadlines, re-armed lazily (see `schedule`). */
  timer: TimerHandle | undefined;
  timerDue: number;
  closing: boolean;
}

type Deadline = 'idle' | 'message-timeout' | 'first-message-timeout';

const CRLF = Buffer.from('\r\n', 'latin1');
/** After a framing violation: how long the peer gets to read our 400 before the socket is destroyed. */
const LINGER_MS = 2000;

/**
 * SIP over TCP or TLS on one interface: accepts connections within the configured limits,
 * frames by Content-Length, answers CRLF pings, closes idle connections, and reuses open
 * connections (indexed by remote address+port) for sending.
 *
 * Against slot exhaustion (idle connections filling `maxConnections`, or a peer dripping a
 * message byte by byte): each message must be complete `messageTimeoutMs` after its first
 * bytes; a connection must complete one valid message within `firstMessageTimeoutMs`; and when
 * the table is full, a new connection evicts the oldest connection that has not completed a
 * valid message yet (refused only when every open connection has). Such events are logged
 * through a `ConnectionEventLog`: one line, then one summary per interval.
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
  private readonly events: ConnectionEventLog;

  private constructor(
    private readonly server: Server,
    readonly local: Endpoint,
    private readonly options: StreamTransportOptions,
  ) {
    this.protocol = options.protocol;
    this.interfaceName = options.interfaceName;
    this.table = new ConnectionTable(options.protocol);
    this.log = options.logger.child({ transport: options.protocol, interface: options.interfaceName });
    this.events = new ConnectionEventLog(this.log, options.clock, options.limits.connectionLogIntervalMs);
  }

  static async listen(options: StreamTransportOptions): Promise<StreamTransportListener> {
    if (options.protocol === 'tls' && options.tls === undefined) {
      throw new TransportError('unsupported-transport', 'tls listener needs a certificate and key');
    }
    const server =
      options.protocol === 'tls' && options.tls !== undefined
        ? tlsServer({
            cert: options.tls.cert,
            key: options.tls.key,
            // A handshake holds a socket before it counts against maxConnections: bound it too.
            handshakeTimeout: options.limits.firstMessageTimeoutMs,
          })
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
    if (this.closed) {
      socket.destroy();
      return;
    }
    const limits = this.options.limits;
    // Per source first: a source at its own limit must not evict anybody else's connection.
    const limit = !this.table.admitsSource(remote.address, limits.maxConnectionsPerSource)
      ? 'maxConnectionsPerSource'
      : !this.makeRoom(remote)
        ? 'maxConnections'
        : undefined;
    if (limit !== undefined) {
      this.options.counters.connectionsRefused++;
      this.events.record('refused', remote, `connection refused: ${limit} reached`, { limit });
      socket.destroy();
      return;
    }
    this.adopt(socket, remote, false);
  }

  /**
   * Below `maxConnections`: true. At it: evicts the oldest connection that has not completed a
   * valid message (an idle or dripping slot holder) and returns true; false when every open
   * connection has proven itself (then the newcomer is the one refused).
   */
  private makeRoom(newcomer: Endpoint): boolean {
    if (this.table.size < this.options.limits.maxConnections) return true;
    const victim = this.table.oldestUnproven();
    if (victim === undefined) return false;
    this.options.counters.connectionsEvicted++;
    this.events.record(
      'evicted',
      victim.remote,
      'connection limit reached: evicted the oldest unproven connection',
      {
        ageMs: this.options.clock.now() - victim.openedAt,
        for: newcomer,
      },
    );
    this.drop(victim);
    return true;
  }

  /** Destroys a connection and forgets it now (its slot is free before `close` is emitted). */
  private drop(connection: Connection): void {
    connection.closing = true;
    connection.socket.destroy();
    this.forget(connection);
  }

  private adopt(socket: Socket, remote: Endpoint, proven: boolean): Connection {
    const now = this.options.clock.now();
    const connection: Connection = {
      id: this.nextId++,
      remote,
      socket,
      framer: new StreamFramer(this.options.limits),
      openedAt: now,
      proven,
      lastActivity: now,
      messageStartedAt: undefined,
      timer: undefined,
      timerDue: 0,
      closing: false,
    };
    this.table.add(connection, proven);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(connection, chunk));
    socket.on('error', (e) => this.log.debug({ err: e, remote }, 'connection error'));
    socket.on('close', () => this.forget(connection));
    this.schedule(connection);
    return connection;
  }

  private forget(connection: Connection): void {
    this.table.remove(connection);
    if (connection.timer !== undefined) this.options.clock.clearTimeout(connection.timer);
    connection.timer = undefined;
  }

  /** The earliest of the connection's deadlines: idle, first valid message, current message. */
  private nextDeadline(connection: Connection): { at: number; kind: Deadline } {
    const limits = this.options.limits;
    let at = connection.lastActivity + limits.idleTimeoutMs;
    let kind: Deadline = 'idle';
    if (!connection.proven && connection.openedAt + limits.firstMessageTimeoutMs < at) {
      at = connection.openedAt + limits.firstMessageTimeoutMs;
      kind = 'first-message-timeout';
    }
    if (
      connection.messageStartedAt !== undefined &&
      connection.messageStartedAt + limits.messageTimeoutMs < at
    ) {
      at = connection.messageStartedAt + limits.messageTimeoutMs;
      kind = 'message-timeout';
    }
    return { at, kind };
  }

  /**
   * One timer per connection, re-armed lazily: activity only moves `lastActivity`, and the timer
   * looks at the deadlines when it fires. It is re-armed early only when a deadline comes
   * nearer than the armed one (a message starts).
   */
  private schedule(connection: Connection): void {
    const { at } = this.nextDeadline(connection);
    if (connection.timer !== undefined) {
      if (connection.timerDue <= at) return;
      this.options.clock.clearTimeout(connection.timer);
    }
    connection.timerDue = at;
    connection.timer = this.options.clock.setTimeout(
      () => this.onTimer(connection),
      Math.max(0, at - this.options.clock.now()),
    );
  }

  private onTimer(connection: Connection): void {
    connection.timer = undefined;
    if (connection.socket.destroyed || connection.closing) return;
    const { at, kind } = this.nextDeadline(connection);
    if (at > this.options.clock.now()) {
      this.schedule(connection);
      return;
    }
    const counters = this.options.counters;
    if (kind === 'idle') {
      counters.connectionsIdleClosed++;
      this.log.debug({ remote: connection.remote }, 'closing idle connection');
    } else if (kind === 'message-timeout') {
      counters.connectionsMessageTimeout++;
      this.events.record(
        'message-timeout',
        connection.remote,
        'closing connection: message not complete within messageTimeoutMs',
        { bufferedBytes: connection.framer.bufferedBytes, proven: connection.proven },
        'info',
      );
    } else {
      counters.connectionsFirstMessageTimeout++;
      this.events.record(
        'first-message-timeout',
        connection.remote,
        'closing connection: no valid message within firstMessageTimeoutMs',
        { bufferedBytes: connection.framer.bufferedBytes },
        'info',
      );
    }
    this.drop(connection);
  }

  /**
   * The first complete message of an inbound connection is parsed here once, to tell a SIP
   * peer from a slot holder (the transport layer parses it again; later messages are not).
   */
  private prove(connection: Connection, bytes: Buffer): void {
    const { maxMessageBytes, maxHeaderBytes } = this.options.limits;
    if (!parseMessage(bytes, { maxMessageBytes, maxHeaderBytes }).ok) return;
    connection.proven = true;
    this.table.prove(connection);
  }

  private onData(connection: Connection, chunk: Buffer): void {
    if (connection.closing) return;
    const now = this.options.clock.now();
    connection.lastActivity = now;
    let completed = false;
    for (const event of connection.framer.push(chunk)) {
      if (event.kind === 'pong') {
        this.options.counters.keepAlivePongs++;
        connection.socket.write(CRLF);
      } else if (event.kind === 'message') {
        completed = true;
        this.options.counters.streamMessagesReceived++;
        if (!connection.proven) this.prove(connection, event.bytes);
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
        this.events.record(
          'framing-error',
          connection.remote,
          'framing violation: closing connection',
          { reason: event.reason },
          'info',
        );
        connection.closing = true;
        void this.failConnection(connection, event.reason, event.headerBytes);
      }
    }
    if (connection.closing || connection.socket.destroyed) return;
    // The message deadline runs from the first bytes of each message: a chunk that completed
    // one and holds the start of the next starts the next one's clock now.
    if (!connection.framer.midMessage) {
      connection.messageStartedAt = undefined;
    } else if (completed || connection.messageStartedAt === undefined) {
      connection.messageStartedAt = now;
      this.schedule(connection);
    }
  }

  private async failConnection(
    connection: Connection,
    reason: FramingErrorReason,
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
    if (!this.makeRoom(to)) {
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
        resolve(this.adopt(socket, to, true));
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
    this.events.close();
    for (const connection of this.table.all()) {
      connection.socket.destroy();
      this.forget(connection);
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
