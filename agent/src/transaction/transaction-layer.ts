import type { Logger } from 'pino';
import { createResponse } from '../sip/build.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { DelayQueue, type Expirable } from '../util/delay-queue.js';
import { detachString } from '../util/detach-string.js';
import { ClientInviteTransaction } from './client-invite.js';
import { ClientNonInviteTransaction } from './client-non-invite.js';
import { CompletedNonInvite, type CompletedOwner } from './completed-non-invite.js';
import {
  cancelTargetKey,
  clientTransactionKey,
  requestMatchesToTag,
  serverKeyFromVia,
  serverTransactionKey,
  usesRfc2543Matching,
  type ViaMatchParts,
} from './keys.js';
import { ServerInviteTransaction } from './server-invite.js';
import { ServerNonInviteTransaction } from './server-non-invite.js';
import { type TimerConfig, timerValues } from './timers.js';
import type { IdGenerator } from './ids.js';
import type { InboundRequest, InboundResponse, TransactionUser } from './transaction-user.js';
import type {
  ClientChannel,
  ClientTransaction,
  ClientTransactionUser,
  ServerChannel,
  ServerTransaction,
  ServerTransactionEvents,
  TransactionContext,
} from './types.js';

type AnyServer = ServerInviteTransaction | ServerNonInviteTransaction;
type AnyClient = ClientInviteTransaction | ClientNonInviteTransaction;

export interface TransactionLayerOptions {
  readonly timers: TimerConfig;
  /**
   * Overload guard: past this many server transactions still waiting for the TU's final
   * response, new requests get 503 + Retry-After. Answered transactions that only absorb
   * retransmissions (Completed, waiting out Timer J) are cheap and do not count.
   */
  readonly maxPendingTransactions: number;
  /**
   * Memory bound: past this many server transactions in the table, in any state, new requests
   * get 503 too. Default 10 × `maxPendingTransactions` (500,000 with the default config: at
   * 2 transactions per registration and Timer J = 32 s, ~7,800 registrations/s sustained).
   */
  readonly maxTransactions?: number;
  readonly retryAfterSec: number;
  /**
   * Safety net against a TU that never answers: a server transaction still without a final
   * response after this long is dropped (non-INVITE: 64·T1, the client gave up by Timer F).
   */
  readonly inviteAnswerDeadlineMs?: number;
}

export interface TransactionLayerDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly user: TransactionUser;
  /**
   * To tags for the layer's own final responses (503 overload, 500 for a TU that threw): RFC 3261
   * §8.2.6.2 wants one on every response but 100. Without it those responses carry none.
   */
  readonly ids?: Pick<IdGenerator, 'tag'>;
}

/** What the layer absorbed or refused, for `/metrics`. */
export interface TransactionCounters {
  requestRetransmissionsAbsorbed: number;
  acksAbsorbed: number;
  overloadRejected: number;
  strayResponses: number;
  tuErrors: number;
  unansweredDropped: number;
  /** Server transactions the TU ended on purpose without any response (blocked sources, scanners). */
  silentlyDropped: number;
}

/**
 * The transaction table and dispatcher (RFC 3261 §17): matches inbound messages to
 * transactions (keys.ts), creates server transactions for new requests and hands them to the
 * TU exactly once, sends `100 Trying` for INVITEs the TU has not answered synchronously
 * (§17.2.1), and sheds load with 503 + Retry-After past `maxPendingTransactions`.
 */
export class TransactionLayer implements CompletedOwner {
  /** Server transactions with a machine (in progress, or INVITE / reliable ones ending). */
  private readonly servers = new Map<string, AnyServer>();
  /**
   * Completed non-INVITE transactions on datagram transports, kept compactly until Timer J. By
   * far the largest table (every answered REGISTER for 32 s), so apart from it: a request
   * costs one lookup here, and the in-progress table stays small.
   */
  private readonly completedServers = new Map<string, CompletedNonInvite>();
  /** "TU never answered" deadlines, only for transactions not answered synchronously. */
  private readonly guards = new Map<string, TimerHandle>();
  private readonly clients = new Map<string, AnyClient>();
  /** Server transactions still waiting for the TU's final response (the overload measure). */
  private working = 0;
  private readonly maxTransactions: number;
  /**
   * Shared per transport kind by every transaction, server and client: timer values, logger and
   * one schedule per fixed-delay timer (J, K, L, M) instead of a clock timer per transaction.
   */
  private readonly contexts: {
    readonly reliable: TransactionContext;
    readonly unreliable: TransactionContext;
  };
  private readonly queues: DelayQueue<Expirable>[];
  readonly counters: TransactionCounters = {
    requestRetransmissionsAbsorbed: 0,
    acksAbsorbed: 0,
    overloadRejected: 0,
    strayResponses: 0,
    tuErrors: 0,
    unansweredDropped: 0,
    silentlyDropped: 0,
  };

  constructor(
    private readonly options: TransactionLayerOptions,
    private readonly deps: TransactionLayerDeps,
  ) {
    this.maxTransactions = options.maxTransactions ?? 10 * options.maxPendingTransactions;
    const ctxFor = (reliable: boolean): TransactionContext => {
      const timers = timerValues(options.timers, reliable);
      return {
        clock: deps.clock,
        timers,
        logger: deps.logger,
        timerJ: new DelayQueue(deps.clock, timers.timerJ),
        timerK: new DelayQueue(deps.clock, timers.timerK),
        timerL: new DelayQueue(deps.clock, timers.timerL),
        timerM: new DelayQueue(deps.clock, timers.timerM),
      };
    };
    this.contexts = { reliable: ctxFor(true), unreliable: ctxFor(false) };
    this.queues = [this.contexts.reliable, this.contexts.unreliable].flatMap((c) => [
      c.timerJ!,
      c.timerK!,
      c.timerL!,
      c.timerM!,
    ]);
  }

  private contextFor(channel: { readonly reliable: boolean }): TransactionContext {
    return channel.reliable ? this.contexts.reliable : this.contexts.unreliable;
  }

  get serverTransactionCount(): number {
    return this.servers.size + this.completedServers.size;
  }

  /** Server transactions waiting for the TU's final response. */
  get pendingServerTransactionCount(): number {
    return this.working;
  }

  get clientTransactionCount(): number {
    return this.clients.size;
  }

  /**
   * Would a request with this top Via (magic-cookie branch) and method match a server transaction
   * held now, in progress or completed (§17.2.3)? For load shedding before the parse: a
   * retransmission is answered from the table, never refused.
   */
  hasServerTransaction(via: ViaMatchParts, method: string): boolean {
    const key = serverKeyFromVia(via, method);
    return key !== undefined && (this.completedServers.has(key) || this.servers.has(key));
  }

  receiveRequest(inbound: InboundRequest): void {
    const { request } = inbound;
    const key = serverTransactionKey(request);
    if (key === undefined) return; // No Via: the parser rejects this; nothing to answer to.
    const done = this.completedServers.get(key);
    if (
      done !== undefined &&
      (done.rfc2543ToTag === undefined || done.rfc2543ToTag === (request.to.tag ?? ''))
    ) {
      this.counters.requestRetransmissionsAbsorbed++;
      done.absorb();
      return;
    }
    const existing = this.servers.get(key);
    if (existing !== undefined && requestMatchesToTag(request, existing.request, existing.lastToTag)) {
      this.dispatchToExisting(existing, request);
      return;
    }
    if (request.method === 'ACK') {
      this.deps.user.onStrayAck?.(request, inbound.context);
      return;
    }
    if (
      this.working >= this.options.maxPendingTransactions ||
      this.servers.size + this.completedServers.size >= this.maxTransactions
    ) {
      this.rejectOverload(inbound);
      return;
    }
    this.createServer(key, inbound);
  }

  private dispatchToExisting(tx: AnyServer, request: SipRequest): void {
    if (request.method === 'ACK') {
      if (tx instanceof ServerInviteTransaction) {
        this.counters.acksAbsorbed++;
        tx.receiveAck(request);
      }
      return;
    }
    this.counters.requestRetransmissionsAbsorbed++;
    tx.receiveRequest(request);
  }

  /** RFC 3261 §21.5.4 / RFC 3261 §20.33: refuse instead of queueing, say when to come back. */
  private rejectOverload(inbound: InboundRequest): void {
    this.counters.overloadRejected++;
    const response = createResponse(inbound.request, 503, 'Service Unavailable', {
      headers: [['Retry-After', String(this.options.retryAfterSec)]],
      ...this.ownTag(),
    });
    inbound.channel.sendResponse(response).catch(() => {});
  }

  private createServer(key: string, inbound: InboundRequest): void {
    const { request, channel, context } = inbound;
    const ctx = this.contextFor(channel);
    const events = new ServerEntry(this, key);
    const tx: AnyServer =
      request.method === 'INVITE'
        ? new ServerInviteTransaction(request, channel, ctx, events)
        : new ServerNonInviteTransaction(request, channel, ctx, events);
    events.tx = tx;
    this.servers.set(key, tx);
    this.working++;

    const cancels = request.method === 'CANCEL' ? this.findCancelTarget(request) : undefined;
    try {
      this.deps.user.onRequest(request, tx, context, request.method === 'CANCEL' ? { cancels } : {});
    } catch (e) {
      // A TU bug must not leave the client hanging: answer 500 (§21.5.1) and carry on.
      this.counters.tuErrors++;
      this.deps.logger.error(
        { err: e, callId: request.callId, method: request.method },
        'TU failed on request',
      );
      if (tx.lastStatus < 200) {
        tx.respond(createResponse(request, 500, 'Server Internal Error', this.ownTag()));
      }
      return;
    }
    // §17.2.1: the server transaction sends 100 Trying unless the TU answers within 200 ms;
    // we do not wait: if the TU did not answer synchronously, 100 goes out now.
    if (tx instanceof ServerInviteTransaction && tx.state === 'proceeding' && tx.lastStatus === 0) {
      tx.respond(createResponse(request, 100, 'Trying'));
    }
    // Safety net only for transactions the TU did not answer (or drop) synchronously.
    if (tx.lastStatus < 200 && this.servers.get(key) === tx) {
      const deadline =
        request.method === 'INVITE' ? (this.options.inviteAnswerDeadlineMs ?? 360_000) : ctx.timers.timerF;
      this.guards.set(
        key,
        this.deps.clock.setTimeout(() => this.dropUnanswered(key, tx), deadline),
      );
    }
  }

  /** §8.2.6.2: the To tag of a final response the layer answers itself. */
  private ownTag(): { toTag?: string } {
    return this.deps.ids === undefined ? {} : { toTag: this.deps.ids.tag() };
  }

  /** @internal {@link ServerEntry}: the transaction's final response went out. */
  answered(key: string): void {
    this.working--;
    // The TU answered: the "never answered" safety net is no longer needed.
    const guard = this.guards.get(key);
    if (guard !== undefined) {
      this.deps.clock.clearTimeout(guard);
      this.guards.delete(key);
    }
  }

  /**
   * @internal {@link ServerEntry}: a non-INVITE transaction on a datagram transport is Completed.
   * It is replaced by a {@link CompletedNonInvite} (response bytes + destination) on the same
   * Timer J schedule, so the parsed request and response are garbage at once.
   */
  completed(key: string, tx: AnyServer, response: SipResponse, channel: ServerChannel): boolean {
    if (this.servers.get(key) !== tx || channel.reliable) return false;
    const resender = channel.resender?.(response);
    if (resender === undefined) return false;
    const toTag = usesRfc2543Matching(tx.request) ? (tx.request.to.tag ?? '') : undefined;
    // The key is cut from the request's text: detached, so the record does not keep that alive.
    const own = detachString(key);
    const record = new CompletedNonInvite(
      own,
      resender,
      toTag === undefined ? undefined : detachString(toTag),
      this,
    );
    this.forgetServer(key, tx);
    this.completedServers.set(own, record);
    this.contexts.unreliable.timerJ!.add(record);
    return true;
  }

  /** @internal {@link CompletedNonInvite}: Timer J fired or a resend failed. */
  completedEnded(key: string, record: CompletedNonInvite): void {
    if (this.completedServers.get(key) === record) this.completedServers.delete(key);
  }

  /** @internal {@link ServerEntry}: the transaction ended. */
  ended(key: string, tx: AnyServer): void {
    this.forgetServer(key, tx);
  }

  /** @internal {@link ServerEntry}: Timer H or a transport error. */
  failed(tx: AnyServer, cause: 'timeout' | 'transport-error'): void {
    this.deps.user.onServerTransactionFailure?.(tx, cause);
  }

  /** §9.2: the INVITE server transaction a CANCEL targets, with the To-tag check of 2543 matching. */
  findCancelTarget(cancel: SipRequest): ServerTransaction | undefined {
    const key = cancelTargetKey(cancel);
    const target = key === undefined ? undefined : this.servers.get(key);
    if (target?.kind !== 'server-invite') return undefined;
    return requestMatchesToTag(cancel, target.request, undefined) ? target : undefined;
  }

  private dropUnanswered(key: string, tx: AnyServer): void {
    this.guards.delete(key);
    if (this.servers.get(key) !== tx) return;
    if (tx.lastStatus >= 200) return; // Answered: its own timers end it.
    this.counters.unansweredDropped++;
    this.deps.logger.warn(
      { callId: tx.request.callId, method: tx.request.method },
      'TU never answered: transaction dropped',
    );
    tx.terminate();
  }

  /**
   * Ends a server transaction without sending anything (a blocked source, a scanner). Nothing
   * is remembered: a retransmission starts a new transaction and the TU drops it again, so the
   * sender sees the same silence as from a closed port.
   */
  drop(transaction: ServerTransaction): void {
    const key = serverTransactionKey(transaction.request);
    const tx = key === undefined ? undefined : this.servers.get(key);
    if (tx === undefined || tx !== transaction) return;
    if (tx.lastStatus !== 0) return; // Something was sent: let its timers end it.
    this.counters.silentlyDropped++;
    tx.terminate();
  }

  private forgetServer(key: string, tx: AnyServer): void {
    if (this.servers.get(key) !== tx) return;
    const guard = this.guards.get(key);
    if (guard !== undefined) {
      this.deps.clock.clearTimeout(guard);
      this.guards.delete(key);
    }
    this.servers.delete(key);
  }

  receiveResponse(inbound: InboundResponse): void {
    const key = clientTransactionKey(inbound.response);
    const tx = key === undefined ? undefined : this.clients.get(key);
    if (tx === undefined) {
      this.counters.strayResponses++;
      this.deps.user.onStrayResponse?.(inbound.response, inbound.context);
      return;
    }
    tx.receiveResponse(inbound.response);
  }

  /**
   * Starts a client transaction. The request's top Via must carry a fresh `z9hG4bK` branch;
   * `channel` is bound to the transport and destination chosen by the caller.
   */
  sendRequest(request: SipRequest, channel: ClientChannel, user: ClientTransactionUser): ClientTransaction {
    if (request.method === 'ACK') throw new Error('ACK is not sent in a client transaction (RFC 3261 §17.1)');
    const key = clientTransactionKey(request);
    if (key === undefined) throw new Error('request needs a top Via with a branch');
    if (this.clients.has(key)) throw new Error(`client transaction ${key} already exists`);
    const ctx = this.contextFor(channel);
    let tx: AnyClient;
    const forget = () => {
      if (this.clients.get(key) === tx) this.clients.delete(key);
    };
    tx =
      request.method === 'INVITE'
        ? new ClientInviteTransaction(request, channel, ctx, user, forget)
        : new ClientNonInviteTransaction(request, channel, ctx, user, forget);
    this.clients.set(key, tx);
    tx.start();
    return tx;
  }

  /** Ends every transaction (shutdown). */
  stop(): void {
    for (const tx of [...this.servers.values()]) tx.terminate();
    this.completedServers.clear();
    for (const tx of [...this.clients.values()]) tx.terminate();
    for (const q of this.queues) q.clear();
  }
}

/**
 * The layer's view of one server transaction (one object, no closures): counts it out of the
 * layer's `working` once it is answered or ends, and forgets it when it ends.
 */
class ServerEntry implements ServerTransactionEvents {
  tx: AnyServer | undefined;
  private counted = true;

  constructor(
    private readonly layer: TransactionLayer,
    private readonly key: string,
  ) {}

  onAnswered(): void {
    if (!this.counted) return;
    this.counted = false;
    this.layer.answered(this.key);
  }

  onCompleted(response: SipResponse, channel: ServerChannel): boolean {
    return this.tx !== undefined && this.layer.completed(this.key, this.tx, response, channel);
  }

  onTerminated(): void {
    this.onAnswered();
    if (this.tx !== undefined) this.layer.ended(this.key, this.tx);
  }

  onFailure(cause: 'timeout' | 'transport-error'): void {
    if (this.tx !== undefined) this.layer.failed(this.tx, cause);
  }
}
