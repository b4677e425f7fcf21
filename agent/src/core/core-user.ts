import type { Logger } from 'pino';
import { createResponse } from '../sip/build.js';
import type { SipRequest, SipResponse, Uri } from '../sip/message.js';
import type { InboundContext } from '../transport/channels.js';
import type { IdGenerator } from '../transaction/ids.js';
import type { TransactionUser } from '../transaction/transaction-user.js';
import type { ServerTransaction } from '../transaction/types.js';
import { normalizeHost } from '../transport/via-stamp.js';
import type { Myself } from './myself.js';
import { badExtensionResponse } from './option-tags.js';
import { KNOWN_METHODS, type RequestHandlerRegistry } from './request-handlers.js';

export interface CoreUserOptions {
  /** SIP domains and addresses that mean "this agent" in a Request-URI (any port); see `myself`. */
  readonly localHosts: readonly string[];
  /**
   * The agent's domains and addresses with their ports (RFC 3261 §16.4 "myself"); when given it
   * decides instead of `localHosts` (e.g. `() => registrar.myself()`, current config and bound ports).
   */
  readonly myself?: () => Myself;
}

export interface CoreUserDeps {
  readonly handlers: RequestHandlerRegistry;
  readonly ids: IdGenerator;
  readonly logger: Logger;
}

/** Methods the core itself always handles. */
const CORE_METHODS = ['OPTIONS', 'ACK', 'CANCEL'];

/**
 * The agent's transaction user until the registrar and proxy exist: answers OPTIONS addressed
 * to the agent, dispatches everything else to the handler registered for its method, handles
 * CANCEL when nobody else does (§9.2) and refuses the rest:
 * - a method we recognize, addressed to us, that nobody handles yet → 405 + Allow (§8.2.1 MUST);
 * - a method we do not recognize, or a request for elsewhere (no proxy yet) → 501 (§21.5.2).
 */
export class CoreUser implements TransactionUser {
  private localHosts: Set<string>;
  private readonly myself: (() => Myself) | undefined;

  constructor(
    options: CoreUserOptions,
    private readonly deps: CoreUserDeps,
  ) {
    this.localHosts = new Set(options.localHosts.map(normalizeHost));
    this.myself = options.myself;
  }

  /** The agent's domains and addresses after a config change (used when no `myself` is given). */
  setLocalHosts(hosts: readonly string[]): void {
    this.localHosts = new Set(hosts.map(normalizeHost));
  }

  /** Allow header value: core methods plus every registered handler. */
  allow(): string {
    return [...new Set([...CORE_METHODS, ...this.deps.handlers.methods()])].join(', ');
  }

  onRequest(
    request: SipRequest,
    transaction: ServerTransaction,
    context: InboundContext,
    related: { readonly cancels?: ServerTransaction | undefined },
  ): void {
    if (this.refusesExtensions(request, transaction)) return;
    if (request.method === 'OPTIONS' && this.isForUs(request.requestUri)) {
      this.answerOptions(request, transaction);
      return;
    }
    const handler = this.deps.handlers.get(request.method);
    if (handler !== undefined) {
      handler(request, transaction, context, related);
      return;
    }
    if (request.method === 'CANCEL') {
      this.answerCancel(request, transaction, related.cancels);
      return;
    }
    this.refuse(request, transaction);
  }

  onStrayAck(ack: SipRequest, context: InboundContext): void {
    const stray = this.deps.handlers.stray;
    if (stray !== undefined) {
      stray.onStrayAck(ack, context);
      return;
    }
    this.deps.logger.debug({ callId: ack.callId }, 'ACK matching no transaction dropped');
  }

  onStrayResponse(response: SipResponse, context: InboundContext): void {
    this.deps.handlers.stray?.onStrayResponse(response, context);
  }

  /**
   * RFC 3261 §8.2.2.3: as the UAS (OPTIONS and REGISTER for the agent itself), a Require with an
   * option-tag we do not implement → 420 with Unsupported; never for ACK or CANCEL. Requests the
   * agent proxies are not checked for Require (the proxy checks Proxy-Require, §16.3 item 4).
   */
  private refusesExtensions(request: SipRequest, transaction: ServerTransaction): boolean {
    if (request.method !== 'OPTIONS' && request.method !== 'REGISTER') return false;
    if (!this.isForUs(request.requestUri)) return false;
    const refusal = badExtensionResponse(request, 'require', () => this.deps.ids.tag());
    if (refusal === undefined) return false;
    transaction.respond(refusal);
    return true;
  }

  /** A Request-URI naming the agent: with `myself`, a domain or our address with or without our port. */
  /**
   * A Request-URI naming the agent itself: its host is ours and it names no user (a user at our
   * domain or address is a phone: the proxy forwards to it, and only that UAS checks Require).
   */
  private isForUs(uri: Uri): boolean {
    if (uri.kind !== 'sip' || (uri.user !== undefined && uri.user !== '')) return false;
    if (this.myself !== undefined) return this.myself().isUri(uri);
    return this.localHosts.has(normalizeHost(uri.host));
  }

  private answerOptions(request: SipRequest, transaction: ServerTransaction): void {
    // RFC 3261 §11.2: 200 with Allow, Accept, Supported (and no body).
    transaction.respond(
      createResponse(request, 200, 'OK', {
        toTag: this.deps.ids.tag(),
        headers: [
          ['Allow', this.allow()],
          ['Accept', 'application/sdp'],
          ['Accept-Encoding', 'identity'],
          ['Supported', ''],
        ],
      }),
    );
  }

  /** §9.2: 200 for a CANCEL matching an INVITE transaction (which gets 487 if unanswered), else 481. */
  private answerCancel(
    cancel: SipRequest,
    transaction: ServerTransaction,
    invite: ServerTransaction | undefined,
  ): void {
    if (invite === undefined) {
      transaction.respond(
        createResponse(cancel, 481, 'Call/Transaction Does Not Exist', { toTag: this.deps.ids.tag() }),
      );
      return;
    }
    transaction.respond(
      createResponse(cancel, 200, 'OK', { toTag: invite.lastToTag ?? this.deps.ids.tag() }),
    );
    if (invite.lastStatus < 200) {
      invite.respond(
        createResponse(invite.request, 487, 'Request Terminated', {
          toTag: invite.lastToTag ?? this.deps.ids.tag(),
        }),
      );
    }
  }

  private refuse(request: SipRequest, transaction: ServerTransaction): void {
    const toTag = this.deps.ids.tag();
    const headers: [string, string][] = [['Allow', this.allow()]];
    if (KNOWN_METHODS.has(request.method) && this.isForUs(request.requestUri)) {
      // §8.2.1: recognized but not supported (yet) → 405 with Allow.
      transaction.respond(createResponse(request, 405, 'Method Not Allowed', { toTag, headers }));
      return;
    }
    // §21.5.2: an unrecognized method, or a request for elsewhere while proxying is not built → 501.
    transaction.respond(createResponse(request, 501, 'Not Implemented', { toTag, headers }));
  }
}
