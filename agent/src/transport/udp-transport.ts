import { createSocket, type Socket } from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import { isIP, isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import type { TransportCounters } from './counters.js';
import { TransportError, toTransportError } from './transport-error.js';
import type { SendFailureSink } from './channels.js';
import type { Endpoint, InboundSink, Transport } from './types.js';
import { beforeSend } from '../util/send-barrier.js';

export interface UdpTransportOptions {
  readonly interfaceName: string;
  readonly address: string;
  /** 0 = ephemeral; `local.port` reports the real one. */
  readonly port: number;
  readonly maxMessageBytes: number;
  /** SO_RCVBUF and SO_SNDBUF to ask for (the kernel may grant less; a warning says so). */
  readonly socketBufferBytes?: number;
  readonly sink: InboundSink;
  readonly counters: TransportCounters;
  readonly logger: Logger;
}

/**
 * dgram resolves every destination, even an IP literal, through `dns.lookup`, which answers a
 * literal on the next tick: one extra tick and closure per datagram sent. Responses go to
 * addresses (Via `received`), so answer literals at once and resolve only real names.
 */
function literalLookup(
  hostname: string,
  options: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const family = isIP(hostname);
  if (family !== 0) {
    callback(null, hostname, family);
    return;
  }
  dnsLookup(hostname, options as number, callback);
}

/**
 * Asks for `bytes` of receive and send buffer. Linux caps the request at net.core.rmem_max /
 * wmem_max and reports double the granted value (its bookkeeping overhead), so anything below
 * the request is a cap: say so once, with the sysctl to raise.
 */
function sizeBuffers(socket: Socket, bytes: number, log: Logger): void {
  try {
    socket.setRecvBufferSize(bytes);
    socket.setSendBufferSize(bytes);
  } catch (e) {
    log.warn({ err: e, requested: bytes }, 'udp socket buffer size could not be set');
    return;
  }
  const granted = Math.min(socket.getRecvBufferSize(), socket.getSendBufferSize()) / 2;
  if (granted < bytes) {
    log.warn(
      { requested: bytes, granted },
      'udp socket buffers capped by the kernel: raise net.core.rmem_max and net.core.wmem_max',
    );
  }
}

interface Outgoing {
  readonly bytes: Uint8Array;
  readonly to: Endpoint;
  readonly done: (e: Error | null) => void;
}

/** One UDP socket: one datagram = one SIP message (RFC 3261 §18.3 framing does not apply). */
export class UdpTransport implements Transport {
  readonly protocol = 'udp' as const;
  readonly reliable = false;
  readonly interfaceName: string;
  private closed = false;
  private readonly counters: TransportCounters;
  /** Posted this turn, not yet handed to the socket (see `enqueue`). */
  private outbox: Outgoing[] = [];

  private constructor(
    private readonly socket: Socket,
    readonly local: Endpoint,
    options: UdpTransportOptions,
  ) {
    this.interfaceName = options.interfaceName;
    this.counters = options.counters;
  }

  static async listen(options: UdpTransportOptions): Promise<UdpTransport> {
    const socket = createSocket({
      type: isIPv6(options.address) ? 'udp6' : 'udp4',
      ipv6Only: isIPv6(options.address),
      lookup: literalLookup,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.port, options.address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const bound = socket.address();
    const transport = new UdpTransport(socket, { address: bound.address, port: bound.port }, options);
    const log = options.logger.child({ transport: 'udp', interface: options.interfaceName });
    if (options.socketBufferBytes !== undefined) sizeBuffers(socket, options.socketBufferBytes, log);
    socket.on('error', (e) => log.warn({ err: e }, 'udp socket error'));
    socket.on('message', (bytes, rinfo) => {
      options.counters.datagramsReceived++;
      if (bytes.length > options.maxMessageBytes) {
        options.counters.datagramsTooLarge++;
        return;
      }
      try {
        options.sink.onMessage({ bytes, source: { address: rinfo.address, port: rinfo.port }, transport });
      } catch (e) {
        // The sink has its own per-message guard; this is the last line of defence.
        options.counters.handlerErrors++;
        log.error({ err: e }, 'udp datagram handler failed; datagram dropped');
      }
    });
    return transport;
  }

  /** Granted SO_RCVBUF / SO_SNDBUF in bytes (Linux's doubled figure halved). */
  get socketBuffers(): { readonly receive: number; readonly send: number } {
    return { receive: this.socket.getRecvBufferSize() / 2, send: this.socket.getSendBufferSize() / 2 };
  }

  send(bytes: Uint8Array, to: Endpoint): Promise<void> {
    if (this.closed) return Promise.reject(new TransportError('closed', 'udp transport is closed'));
    return new Promise<void>((resolve, reject) => {
      this.enqueue(bytes, to, (e) => (e ? reject(toTransportError('send-failed', e)) : resolve()));
    });
  }

  /** Fire-and-forget send; failures are counted in `sendErrors` and reported to `failed`. */
  post(bytes: Uint8Array, to: Endpoint, failed: SendFailureSink): void {
    if (this.closed) {
      this.counters.sendErrors++;
      const e = new TransportError('closed', 'udp transport is closed');
      queueMicrotask(() => failed.sendFailed(e));
      return;
    }
    this.enqueue(bytes, to, (e) => {
      if (!e) return;
      this.counters.sendErrors++;
      failed.sendFailed(toTransportError('send-failed', e));
    });
  }

  /**
   * Datagrams go out together at the end of the event-loop turn that produced them (its check
   * phase, after every datagram that turn read was handled), in the order they were posted.
   * On a loopback or LAN peer that sleeps between packets, a lone `sendto` pays for waking
   * the receiver (an IPI, a VM exit on a virtual machine): ~22 µs here against ~9 µs per
   * datagram in a run of eight (bench/register/RESULTS.md). The delay is bounded by one turn.
   */
  private enqueue(bytes: Uint8Array, to: Endpoint, done: (e: Error | null) => void): void {
    this.outbox.push({ bytes, to, done });
    if (this.outbox.length === 1) setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    beforeSend();
    const batch = this.outbox;
    this.outbox = [];
    for (const { bytes, to, done } of batch) {
      try {
        this.socket.send(bytes, to.port, to.address, done);
      } catch (e) {
        queueMicrotask(() => done(e instanceof Error ? e : new Error(String(e))));
      }
    }
  };

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.flush(); // what was posted before close still goes out
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
