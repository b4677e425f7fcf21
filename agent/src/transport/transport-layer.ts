import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { createResponse, errorResponseBytes } from '../sip/build.js';
import { prependVia, removeTopVia, setTopViaParams } from '../sip/edit.js';
import type { SipParseError } from '../sip/errors.js';
import { scanRequestHead, statelessResponseBytes } from '../sip/head-scan.js';
import type { SipMessage, SipRequest, SipResponse } from '../sip/message.js';
import { parseMessage } from '../sip/parse.js';
import { serializeMessage } from '../sip/serialize.js';
import type { ClientChannel, MessageSink, Resender, SendFailureSink, ServerChannel } from './channels.js';
import type { TransportCounters } from './counters.js';
import { mustSwitchToTcp } from './mtu.js';
import {
  classify,
  createOverloadGuard,
  type OverloadGuard,
  type ServerTransactionIndex,
} from './overload-guard.js';
import { routeResponse } from './response-route.js';
import type { FramingErrorReason } from './stream-framer.js';
import { TransportError } from './transport-error.js';
import {
  type Endpoint,
  type InboundBytes,
  type InboundSink,
  isStreamTransport,
  type StreamErrorInfo,
  type Transport,
  type TransportProtocol,
} from './types.js';
import type { SipTraceSink } from '../trace/call-trace.js';
import { detachString } from '../util/detach-string.js';
import { normalizeHost, viaStampFor } from './via-stamp.js';

export interface TransportLayerOptions {
  readonly maxMessageBytes: number;
  readonly maxHeaderBytes: number;
  /** Hosts (addresses and domains) that are "us" in a response's top Via sent-by (§18.1.2). */
  readonly localHosts: readonly string[];
}

export interface TransportLayerDeps {
  readonly upper: MessageSink;
  readonly counters: TransportCounters;
  readonly logger: Logger;
  /**
   * Load shedding before the parse (`overload-guard.ts`); default: the event-loop guard with its
   * default settings. `null` turns it off.
   */
  readonly overload?: OverloadGuard | null;
  /**
   * Where the guard looks up retransmissions; default: `upper` when it has
   * `hasServerTransaction` (the transaction layer does).
   */
  readonly transactions?: ServerTransactionIndex;
  /** Sees every message received (parsed) and sent (request retransmissions included): the per-call trace. */
  readonly trace?: SipTraceSink;
}

const IGNORE_FAILURE = { sendFailed: () => {} };

function isIndex(x: unknown): x is ServerTransactionIndex {
  return typeof (x as Partial<ServerTransactionIndex>).hasServerTransaction === 'function';
}

/** Where the TU wants a request sent. */
export interface RequestTarget {
  readonly protocol: TransportProtocol;
  readonly destination: Endpoint;
  /** Interface to send from; the first with that protocol when absent. */
  readonly interfaceName?: string;
  /** Never switch to TCP for size: the destination is a flow (see `SipSendTarget.pinned`). */
  readonly pinned?: boolean;
}

const ONLY_WHITESPACE = /^[\r\n \t]*$/;
const CALL_ID = /^(?:call-id|i)[ \t]*:[ \t]*([^\r\n]{1,200})/im;

/** Best-effort Call-ID for logging a message that could not be handled. */
export function sniffCallId(bytes: Buffer): string | undefined {
  return CALL_ID.exec(bytes.subarray(0, 16_384).toString('latin1'))?.[1]?.trim();
}

/**
 * Between the sockets and the transaction layer: parses each inbound message inside its own
 * try/catch, answers malformed requests (the parser's 400/413/416/505), stamps
 * received/rport (RFC 3581), drops responses not addressed to us (§18.1.2), routes responses
 * (§18.2.2) and applies the UDP size rule to requests (§18.1.1). While the event loop is
 * saturated, new requests are answered 503 + Retry-After from a scan of their bytes before any
 * parse (`overload-guard.ts`, RFC 3261 §21.5.4).
 */
export class TransportLayer implements InboundSink {
  private readonly transports: Transport[] = [];
  private readonly datagramChannels = new Map<Transport, ServerChannel>();
  private localHosts: Set<string>;
  /** Sheds new requests with a stateless 503 while the loop is saturated; undefined = off. */
  readonly overload: OverloadGuard | undefined;
  private readonly index: ServerTransactionIndex | undefined;
  /** To tags of the guard's 503s: a per-process random prefix and a counter (§8.2.6.2, §19.3). */
  private readonly shedTagPrefix = randomBytes(4).toString('hex');
  private shedTagCount = 0;

  constructor(
    private readonly options: TransportLayerOptions,
    private readonly deps: TransportLayerDeps,
  ) {
    this.localHosts = new Set(options.localHosts.map(normalizeHost));
    this.overload = deps.overload === null ? undefined : (deps.overload ?? createOverloadGuard());
    this.index = deps.transactions ?? (isIndex(deps.upper) ? deps.upper : undefined);
  }

  addTransport(transport: Transport): void {
    this.transports.push(transport);
    this.localHosts.add(normalizeHost(transport.local.address));
  }

  /** The agent's domains and addresses after a config change (bound addresses are kept). */
  setLocalHosts(hosts: readonly string[]): void {
    this.localHosts = new Set([...hosts, ...this.transports.map((t) => t.local.address)].map(normalizeHost));
  }

  get all(): readonly Transport[] {
    return this.transports;
  }

  onMessage(inbound: InboundBytes): void {
    try {
      this.handle(inbound);
    } catch (e) {
      // STYLE §3.7: a bug while handling one message drops that message, never the process.
      this.deps.counters.handlerErrors++;
      this.deps.logger.error(
        {
          err: e,
          callId: sniffCallId(inbound.bytes),
          source: inbound.source,
          transport: inbound.transport.protocol,
        },
        'message handling failed; message dropped',
      );
    }
  }

  private handle(inbound: InboundBytes): void {
    if (inbound.bytes.length <= 64 && ONLY_WHITESPACE.test(inbound.bytes.toString('latin1'))) {
      return; // UDP keep-alive (CRLF) datagram: nothing to parse.
    }
    if (this.overload?.check(inbound.transport) === true && this.shed(inbound, this.overload)) return;
    const parsed = parseMessage(inbound.bytes, {
      maxMessageBytes: this.options.maxMessageBytes,
      maxHeaderBytes: this.options.maxHeaderBytes,
    });
    if (!parsed.ok) {
      this.answerMalformed(parsed.error, inbound);
      return;
    }
    const message = parsed.value;
    const context = {
      source: inbound.source,
      transport: inbound.transport,
      ...(inbound.connectionId !== undefined ? { connectionId: inbound.connectionId } : {}),
    };
    if (message.kind === 'response') {
      if (!this.isLocalSentBy(message)) {
        this.deps.counters.responsesDropped++;
        return; // §18.1.2: top Via not ours → discard silently.
      }
      this.deps.trace?.record('in', message, inbound.bytes, inbound.transport, inbound.source);
      this.deps.upper.receiveResponse({ response: message, context });
      return;
    }
    this.deps.trace?.record('in', message, inbound.bytes, inbound.transport, inbound.source);
    const request = this.stampVia(message, inbound.source);
    this.deps.upper.receiveRequest({ request, channel: this.serverChannel(inbound), context });
  }

  /**
   * While the guard sheds: scans the request (start line, Via, To tag, credentials) and, when the
   * guard refuses it, answers 503 + Retry-After from the raw bytes, statelessly (RFC 3261
   * §21.5.4, §8.2.6.2: the top Via as it came, so the answer goes to the packet's source). True
   * when it was answered here. Anything the scan does not read simply goes on to the parser.
   */
  private shed(inbound: InboundBytes, guard: OverloadGuard): boolean {
    const head = scanRequestHead(inbound.bytes, this.options.maxHeaderBytes);
    if (head === undefined || guard.admit(classify(head, this.index))) return false;
    const tag = `${this.shedTagPrefix}${(this.shedTagCount++).toString(36)}`;
    const response = statelessResponseBytes(
      inbound.bytes,
      head,
      503,
      'Service Unavailable',
      [['Retry-After', String(guard.settings.retryAfterSec)]],
      tag,
    );
    const t = inbound.transport;
    // Datagrams: fire and forget, no promise per answer (the transport counts send errors).
    if (t.post !== undefined && inbound.connectionId === undefined)
      t.post(response, inbound.source, IGNORE_FAILURE);
    else this.sendToArrival(response, inbound).catch(() => {});
    return true;
  }

  private stampVia(request: SipRequest, source: Endpoint): SipRequest {
    const top = request.via[0];
    if (top === undefined) return request;
    const stamp = viaStampFor(top, source);
    return stamp === undefined ? request : setTopViaParams(request, stamp);
  }

  private isLocalSentBy(response: SipResponse): boolean {
    const top = response.via[0];
    return top !== undefined && this.localHosts.has(normalizeHost(top.host));
  }

  private answerMalformed(error: SipParseError, inbound: InboundBytes): void {
    // RFC 4475 §3.1.2: a request whose Via and CSeq can be read gets its 400 (or 413/416/505),
    // broken From/To/Call-ID copied as they came; only what cannot be matched is dropped.
    const response = errorResponseBytes(error);
    if (response === undefined) {
      this.deps.counters.malformedDropped++;
      this.deps.logger.debug({ code: error.code, source: inbound.source }, 'malformed message dropped');
      return;
    }
    this.deps.counters.malformedAnswered++;
    this.deps.logger.debug(
      { code: error.code, status: error.status, source: inbound.source },
      'malformed request answered',
    );
    // The request's Via could not be trusted: answer the packet's source (or its connection).
    this.sendToArrival(response, inbound).catch(() => {});
  }

  /** Framing violation on a stream: answer if the header section allows it; the listener then closes. */
  async onStreamError(info: StreamErrorInfo): Promise<void> {
    if (info.headerBytes === undefined) {
      this.deps.counters.malformedDropped++;
      return;
    }
    const { status, reason } = framingAnswer(info.reason);
    const parsed = parseMessage(info.headerBytes, {
      maxMessageBytes: this.options.maxMessageBytes,
      maxHeaderBytes: this.options.maxHeaderBytes,
    });
    let response: Buffer | undefined;
    if (parsed.ok) {
      const msg = parsed.value;
      if (msg.kind === 'request' && msg.method !== 'ACK')
        response = this.bytesOf(createResponse(msg, status, reason));
    } else if (parsed.error.canRespond) {
      response = errorResponseBytes({ ...parsed.error, status, reason });
    }
    if (response === undefined) {
      this.deps.counters.malformedDropped++;
      return;
    }
    this.deps.counters.malformedAnswered++;
    await info.transport.sendOnConnection(info.connectionId, response).catch(() => false);
  }

  private async sendToArrival(bytes: Buffer, inbound: InboundBytes): Promise<void> {
    const t = inbound.transport;
    if (isStreamTransport(t) && inbound.connectionId !== undefined) {
      await t.sendOnConnection(inbound.connectionId, bytes);
      return;
    }
    await t.send(bytes, inbound.source);
  }

  /** The channel a server transaction answers through: §18.2.2 routing on the arrival transport. */
  serverChannel(inbound: Pick<InboundBytes, 'transport' | 'connectionId'>): ServerChannel {
    const transport = inbound.transport;
    if (inbound.connectionId === undefined && !isStreamTransport(transport)) {
      // Datagram arrivals carry no per-message state: one channel per transport serves them all.
      let channel = this.datagramChannels.get(transport);
      if (channel === undefined) {
        channel = this.makeServerChannel(transport, undefined);
        this.datagramChannels.set(transport, channel);
      }
      return channel;
    }
    return this.makeServerChannel(transport, inbound.connectionId);
  }

  private makeServerChannel(transport: Transport, connectionId: number | undefined): ServerChannel {
    const post = transport.post === undefined ? undefined : transport.post.bind(transport);
    return {
      reliable: transport.reliable,
      sendResponse: async (response) => {
        try {
          await this.sendResponse(response, transport, connectionId);
        } catch (e) {
          this.deps.counters.sendErrors++;
          throw e;
        }
      },
      ...(post === undefined
        ? {}
        : {
            postResponse: (response: SipResponse, failed: SendFailureSink) => {
              const top = response.via[0];
              if (top === undefined) {
                this.sendResponse(response, transport, connectionId).catch((e: unknown) => {
                  this.deps.counters.sendErrors++;
                  failed.sendFailed(e);
                });
                return;
              }
              const route = routeResponse(top, { connectionId });
              const destination = route.kind === 'endpoint' ? route.destination : route.fallback;
              // The datagram transport counts its own send errors.
              const bytes = this.bytesOf(response);
              this.deps.trace?.record('out', response, bytes, transport, destination);
              post(bytes, destination, failed);
            },
            resender: (response: SipResponse): Resender | undefined => {
              const top = response.via[0];
              if (top === undefined || connectionId !== undefined) return undefined;
              const route = routeResponse(top, { connectionId });
              const destination = route.kind === 'endpoint' ? route.destination : route.fallback;
              // Detached address: the record outlives the request text it may be cut from.
              return new DatagramResend(post, ownBytes(this.bytesOf(response)), {
                address: detachString(destination.address),
                port: destination.port,
              });
            },
          }),
    };
  }

  private async sendResponse(
    response: SipResponse,
    transport: Transport,
    connectionId: number | undefined,
  ): Promise<void> {
    const top = response.via[0];
    if (top === undefined) throw new TransportError('no-route', 'response has no Via');
    const bytes = this.bytesOf(response);
    const route = routeResponse(top, { connectionId });
    this.deps.trace?.record(
      'out',
      response,
      bytes,
      transport,
      route.kind === 'endpoint' ? route.destination : route.fallback,
    );
    if (route.kind === 'connection' && isStreamTransport(transport)) {
      if (await transport.sendOnConnection(route.connectionId, bytes)) return;
      // §18.2.2: connection gone → open a new one to the received address and sent-by port.
      await transport.send(bytes, route.fallback);
      return;
    }
    const destination = route.kind === 'endpoint' ? route.destination : route.fallback;
    await transport.send(bytes, destination);
  }

  /**
   * Picks the transport for an outgoing request and applies RFC 3261 §18.1.1: over UDP, a
   * request larger than 1300 bytes goes over TCP when the interface has TCP; the top Via
   * transport (and sent-by port) is rewritten to match. Returns the request to put in the
   * client transaction and its channel.
   */
  prepareRequest(
    request: SipRequest,
    target: RequestTarget,
  ): { request: SipRequest; channel: ClientChannel } {
    let transport = this.pick(target.protocol, target.interfaceName);
    let outgoing = request;
    if (target.pinned !== true && mustSwitchToTcp(this.bytesOf(request).length, target.protocol)) {
      const tcp = this.find('tcp', transport?.interfaceName ?? target.interfaceName);
      const top = request.via[0];
      if (tcp !== undefined && top !== undefined) {
        transport = tcp;
        const host = top.host;
        const params = top.raw.slice(top.raw.indexOf(';') >= 0 ? top.raw.indexOf(';') : top.raw.length);
        outgoing = prependVia(removeTopVia(request), `SIP/2.0/TCP ${host}:${tcp.local.port}${params}`);
      }
    }
    const chosen = transport;
    return {
      request: outgoing,
      channel: {
        reliable: chosen?.reliable ?? false,
        sendRequest: async (req) => {
          if (chosen === undefined)
            throw new TransportError('unsupported-transport', `no ${target.protocol} listener`);
          try {
            const bytes = this.bytesOf(req);
            this.deps.trace?.record('out', req, bytes, chosen, target.destination);
            await chosen.send(bytes, target.destination);
          } catch (e) {
            this.deps.counters.sendErrors++;
            throw e;
          }
        },
      },
    };
  }

  /**
   * Sends a message outside any transaction (a proxy's ACK for a 2xx, a stateless forward):
   * one send, no retransmission. Rejects with a `TransportError`.
   */
  async sendStateless(request: SipRequest, target: RequestTarget): Promise<void> {
    const prepared = this.prepareRequest(request, target);
    await prepared.channel.sendRequest(prepared.request);
  }

  /**
   * Sends a response by its top Via (RFC 3261 §18.2.2, without a server transaction): a
   * stateless proxy's forward (§16.11). The transport is the Via's, on `interfaceName` if given.
   */
  async forwardResponse(response: SipResponse, interfaceName?: string): Promise<void> {
    const top = response.via[0];
    if (top === undefined) throw new TransportError('no-route', 'response has no Via');
    const protocol = top.transport.toLowerCase() as TransportProtocol;
    const transport = this.pick(protocol, interfaceName);
    if (transport === undefined) throw new TransportError('unsupported-transport', `no ${protocol} listener`);
    const route = routeResponse(top, {});
    const destination = route.kind === 'endpoint' ? route.destination : route.fallback;
    const bytes = this.bytesOf(response);
    this.deps.trace?.record('out', response, bytes, transport, destination);
    await transport.send(bytes, destination);
  }

  private pick(protocol: TransportProtocol, interfaceName: string | undefined): Transport | undefined {
    return this.find(protocol, interfaceName) ?? this.find(protocol, undefined);
  }

  private find(protocol: TransportProtocol, interfaceName: string | undefined): Transport | undefined {
    return this.transports.find(
      (t) => t.protocol === protocol && (interfaceName === undefined || t.interfaceName === interfaceName),
    );
  }

  /** Serializes once per message object (retransmissions reuse the bytes). */
  private bytesOf(message: SipMessage): Buffer {
    // Parsed and built messages carry their bytes already (no WeakMap entry, which GC pays for).
    if (message.wire !== undefined) return message.wire;
    // An edited message is serialized once and keeps its bytes in its own `wire` (they are its
    // exact wire form from now on; messages are never edited in place, only copied).
    const bytes = serializeMessage(message);
    (message as { wire: Buffer | undefined }).wire = bytes;
    return bytes;
  }
}

/** A response's bytes and destination on a datagram transport, ready to go again. */
/**
 * The bytes in a buffer of their own. A small `Buffer.allocUnsafe` is a slice of an 8 KB pool
 * that it keeps alive whole: for a record kept 32 s (Timer J) that is ~4 KB per response.
 */
function ownBytes(bytes: Buffer): Buffer {
  if (bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length) return bytes;
  const own = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(own);
  return own;
}

class DatagramResend implements Resender {
  constructor(
    private readonly post: (bytes: Uint8Array, to: Endpoint, failed: SendFailureSink) => void,
    private readonly bytes: Buffer,
    private readonly destination: Endpoint,
  ) {}

  resend(failed: SendFailureSink): void {
    this.post(this.bytes, this.destination, failed);
  }
}

/** RFC 3261 §21.4.11: a body larger than we accept is 413; other framing faults are 400. */
function framingAnswer(reason: FramingErrorReason): { status: 400 | 413; reason: string } {
  switch (reason) {
    case 'message-too-large':
      return { status: 413, reason: 'Request Entity Too Large' };
    case 'missing-content-length':
      return { status: 400, reason: 'Missing Content-Length' };
    case 'invalid-content-length':
      return { status: 400, reason: 'Bad Content-Length' };
    case 'header-too-large':
      return { status: 400, reason: 'Header Too Large' };
  }
}
