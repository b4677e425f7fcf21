import { type AuthenticateContext, authenticateRequest } from '../auth/authenticate.js';
import type { BruteForceGuard } from '../auth/brute-force.js';
import { type AlgorithmPolicy, offeredAlgorithms } from '../auth/offered-algorithms.js';
import { screenSource } from '../auth/scanner.js';
import type { SecurityEvent } from '../auth/security-event.js';
import type { RequestHandler } from '../core/request-handlers.js';
import { getHeaders } from '../sip/accessors.js';
import { createResponse } from '../sip/build.js';
import type { SipRequest } from '../sip/message.js';
import type { RespondOptions, ServerTransaction } from '../transaction/types.js';
import type { InboundContext } from '../transport/channels.js';
import type { Clock } from '../util/clock.js';
import { userAor } from './aor.js';
import type { Flow } from './binding.js';
import { eventsForRegister, type RegistrationEvent } from './events.js';
import type { LocationStore } from './location-store.js';
import { processRegister, type RegisterOk, type RegistrarConfig } from './process-register.js';
import { registerRejectResponse } from './register-reject.js';
import { type RegisterTarget, registerTarget } from './register-target.js';
import type { RegistrarUsers } from './registrar-users.js';
import { checkRegisterSource, EMPTY_CIDR_SET } from './source-acl.js';

export interface RegisterHandlerDeps {
  readonly config: RegistrarConfig;
  readonly store: LocationStore;
  readonly users: RegistrarUsers;
  /** Digest context; its `realms` are the configured domains as written, `findUser` is `users.find`. */
  readonly auth: AuthenticateContext;
  /** Which digest algorithms each user is offered (`sip.auth`, `users[].algorithms`); overrides `auth.algorithms`. */
  readonly algorithms: AlgorithmPolicy;
  readonly bruteForce: BruteForceGuard;
  readonly dropUserAgents: readonly string[];
  readonly clock: Clock;
  readonly toTag: () => string;
  readonly onRegistrationEvents: (events: readonly RegistrationEvent[]) => void;
  readonly onSecurityEvents: (events: readonly SecurityEvent[]) => void;
  /**
   * Ends a transaction without any response (blocked sources, scanners). Until the transaction
   * layer offers one, the handler answers 403 instead.
   */
  readonly drop?: (transaction: ServerTransaction) => void;
  readonly logger: {
    warn(obj: object, msg: string): void;
    debug(obj: object, msg: string): void;
  };
}

function flowOf(context: InboundContext): Flow {
  return {
    transport: context.transport.protocol,
    address: context.source.address,
    port: context.source.port,
    connectionId: context.connectionId,
  };
}

/**
 * The registrar's thin shell (STYLE §3.6): screen the source, authenticate, snapshot the AOR's
 * bindings, run the pure `processRegister`, commit to the store, answer. Everything it decides
 * is decided by pure functions; this only moves data between them and does I/O.
 */
export function createRegisterHandler(deps: RegisterHandlerDeps): RequestHandler {
  return (request, transaction, context) => {
    try {
      handleRegister(request, transaction, context, deps);
    } catch (e) {
      answerFailure(transaction, request, deps, e);
    }
  };
}

/**
 * A bug while handling one REGISTER: log it and answer 500 (with our To tag) unless something was
 * already sent (the transaction layer answers a TU that throws with its own 500 as well; this one
 * carries the registrar's log line).
 */
function answerFailure(
  transaction: ServerTransaction,
  request: SipRequest,
  deps: RegisterHandlerDeps,
  e: unknown,
): void {
  deps.logger.warn({ callId: request.callId, err: e }, 'REGISTER handling failed');
  if (transaction.lastStatus === 0) respond(transaction, request, deps, 500, 'Server Internal Error');
}

function respond(
  transaction: ServerTransaction,
  request: SipRequest,
  deps: RegisterHandlerDeps,
  status: number,
  reason: string,
  headers: ReadonlyArray<readonly [string, string]> = [],
  options?: RespondOptions,
): void {
  transaction.respond(createResponse(request, status, reason, { toTag: deps.toTag(), headers }), options);
}

/**
 * Challenges are sent statelessly (RFC 3261 §8.2.7: what stateless UAS behaviour is for; Kamailio
 * does the same): no transaction is kept for 32 s per 401, and a retransmitted REGISTER simply
 * gets a fresh challenge (nonces are stateless too).
 */
const STATELESS: RespondOptions = { stateless: true };

function dropOrForbid(transaction: ServerTransaction, request: SipRequest, deps: RegisterHandlerDeps): void {
  if (deps.drop !== undefined) deps.drop(transaction);
  else respond(transaction, request, deps, 403, 'Forbidden');
}

/**
 * The realm to challenge with: the configured spelling of the domain the REGISTER is for (the
 * Request-URI's domain, or the To AOR's when the Request-URI is the agent's own address).
 */
function realmFor(target: RegisterTarget, deps: RegisterHandlerDeps): string | undefined {
  let byHost = realmsByHost.get(deps.auth.realms);
  if (byHost === undefined) {
    byHost = new Map([...deps.auth.realms].map((r) => [r.toLowerCase(), r]));
    realmsByHost.set(deps.auth.realms, byHost);
  }
  // The target's domain is lower-cased; a realm is matched case-insensitively (RFC 3261 §19.1.4).
  return byHost.get(target.domain);
}

/** Configured realms by lower-cased spelling, per realm set (computed once per config). */
const realmsByHost = new WeakMap<ReadonlySet<string>, ReadonlyMap<string, string>>();

/** Digest contexts per offered algorithm list, per config's base context (at most a few each). */
const contextsByOffer = new WeakMap<AuthenticateContext, Map<string, AuthenticateContext>>();

/**
 * The digest context with the algorithms to offer the addressed user (`offeredAlgorithms`: the
 * user's list, else the domain's, else the site's, then only those the user has an HA1 for), so
 * a phone that answers only the first challenge (baresip, SIPp: MD5) gets one it can answer.
 */
function authContextFor(request: SipRequest, realm: string, deps: RegisterHandlerDeps): AuthenticateContext {
  const to = request.to.uri;
  const user = to.kind === 'sip' && to.user !== undefined ? deps.users.find(to.user, realm) : undefined;
  const offered = offeredAlgorithms(deps.algorithms, user, realm);
  let byOffer = contextsByOffer.get(deps.auth);
  if (byOffer === undefined) {
    byOffer = new Map();
    contextsByOffer.set(deps.auth, byOffer);
  }
  const key = offered.join(',');
  let ctx = byOffer.get(key);
  if (ctx === undefined) {
    ctx = { ...deps.auth, algorithms: offered };
    byOffer.set(key, ctx);
  }
  return ctx;
}

/**
 * Handles one REGISTER without async functions or promises of its own: every path answers (or
 * drops) before it returns, except a successful registration, whose 200 goes out from the
 * journal's group-commit callback once the change is durable.
 */
export function handleRegister(
  request: SipRequest,
  transaction: ServerTransaction,
  context: InboundContext,
  deps: RegisterHandlerDeps,
): void {
  const now = deps.clock.now();
  const flow = flowOf(context);
  const source = flow.address;

  if (screenSource(request, source, now, deps) !== 'ok') {
    dropOrForbid(transaction, request, deps);
    return;
  }

  const target = registerTarget(request, deps.config);
  const realm = typeof target === 'string' ? undefined : realmFor(target, deps);
  if (realm === undefined) {
    const r = registerRejectResponse(typeof target === 'string' ? target : 'not-our-domain', deps.config);
    respond(transaction, request, deps, r.status, r.reasonPhrase, r.headers);
    return;
  }
  // Site-level source policy before any challenge: a forbidden network gets no nonce.
  if (checkRegisterSource(source, deps.config.sourcePolicy, EMPTY_CIDR_SET) === 'denied') {
    deps.onSecurityEvents([
      { event: 'register-refused', source, detail: 'source not allowed to register', at: now },
    ]);
    const r = registerRejectResponse('forbidden-source', deps.config);
    respond(transaction, request, deps, r.status, r.reasonPhrase, r.headers);
    return;
  }

  const decision = authenticateRequest(
    {
      method: request.method,
      requestUri: request.requestUri.raw,
      credentialHeaders: getHeaders(request, 'authorization'),
      proxy: false,
      realm,
      source,
    },
    authContextFor(request, realm, deps),
    now,
  );
  if (decision.kind !== 'authenticated') {
    if (decision.failure) {
      const user = typeof target === 'string' ? undefined : target.aor;
      deps.onSecurityEvents(deps.bruteForce.recordFailure(source, user, now));
    }
    if (decision.kind === 'challenge') {
      respond(transaction, request, deps, decision.status, 'Unauthorized', decision.headers, STATELESS);
      return;
    }
    const phrase = decision.status === 400 ? 'Bad Request' : 'Forbidden';
    respond(transaction, request, deps, decision.status, phrase);
    return;
  }

  const user = deps.users.find(decision.username, decision.realm);
  if (user === undefined) {
    respond(transaction, request, deps, 403, 'Forbidden');
    return;
  }
  const aor = typeof target === 'string' ? undefined : target.aor;
  const result = processRegister(
    request,
    aor === undefined ? [] : deps.store.lookup(aor),
    now,
    deps.config,
    flow,
    {
      authenticatedAor: userAor(user.username, user.domain),
      maxBindings: user.maxBindings,
      allowFrom: user.allowFrom,
    },
  );
  if (result.kind === 'reject') {
    if (result.reason === 'forbidden-source' || result.reason === 'not-authorized-for-aor') {
      deps.onSecurityEvents([{ event: 'register-refused', source, detail: result.reason, at: now }]);
    }
    const r = registerRejectResponse(result.reason, deps.config);
    respond(transaction, request, deps, r.status, r.reasonPhrase, r.headers);
    return;
  }

  // Applied in memory (lookups see it) and in the journal file before the 200 leaves (the journal
  // writes its lines ahead of every send), so a 200 means the binding survives a crash or kill -9
  // of the agent (test/process/registrar.process.test.ts); fdatasync follows within the group-commit
  // window (see `BindingJournal`). Answering in the same turn keeps the parsed request from
  // outliving it, which is most of what GC costs per REGISTER. A journal failure keeps memory
  // authoritative and the phone registered (the journal reports it once).
  deps.store.apply({ upserts: result.upserts.map((u) => u.binding), removals: result.removals });
  answerRegistered(transaction, request, deps, result, now);
}

function answerRegistered(
  transaction: ServerTransaction,
  request: SipRequest,
  deps: RegisterHandlerDeps,
  result: RegisterOk,
  now: number,
): void {
  const headers = [
    ...result.response.contacts.map((c) => ['Contact', c] as const),
    ...result.response.headers,
  ];
  respond(transaction, request, deps, 200, 'OK', headers);
  deps.onRegistrationEvents(eventsForRegister(result, now));
}
