import type { BruteForceGuard } from '../auth/brute-force.js';
import { screenSource } from '../auth/scanner.js';
import type { SecurityEvent } from '../auth/security-event.js';
import type { RequestHandler } from '../core/request-handlers.js';
import type { SipListening, SipStack } from '../core/sip-stack.js';
import { createResponse } from '../sip/build.js';
import { prependVia, removeTopVia, setHeader } from '../sip/edit.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import type { ServerTransaction } from '../transaction/types.js';
import type { InboundContext } from '../transport/channels.js';
import type { Clock } from '../util/clock.js';
import { canonicalAor } from './aor.js';
import type { Flow } from './binding.js';
import { eventsForRegister, type RegistrationEvent } from './events.js';
import type { LocationStore } from './location-store.js';
import { learnFromRegisterOk } from './passive-learn.js';
import type { RegistrarConfig } from './process-register.js';
import { registerRejectResponse } from './register-reject.js';
import { registerTarget } from './register-target.js';
import type { UpstreamTarget } from './registrar-settings.js';
import { checkRegisterSource, EMPTY_CIDR_SET } from './source-acl.js';

export interface PassiveRelayDeps {
  readonly config: RegistrarConfig;
  readonly upstream: UpstreamTarget;
  /** Resolves the upstream host to an address (an IP literal resolves to itself). */
  readonly resolveHost: (host: string) => Promise<string>;
  /** Store of learned (passive) bindings. */
  readonly store: LocationStore;
  readonly stack: SipStack;
  readonly bruteForce: BruteForceGuard;
  readonly dropUserAgents: readonly string[];
  readonly clock: Clock;
  /**
   * How long to wait for the outside registrar before answering 408 ourselves. Must be shorter
   * than 64·T1, where both the client transaction (Timer F) and the server transaction's
   * unanswered-request guard give up, or the phone would get nothing at all.
   */
  readonly upstreamDeadlineMs: number;
  readonly onRegistrationEvents: (events: readonly RegistrationEvent[]) => void;
  readonly onSecurityEvents: (events: readonly SecurityEvent[]) => void;
  readonly logger: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
}

/** RFC 3261 §16.6 step 3: a proxy without a Max-Forwards adds one of 70. */
const DEFAULT_MAX_FORWARDS = 70;

function listenerFor(listening: readonly SipListening[]): SipListening | undefined {
  const udp = listening.filter((l) => l.transport === 'udp');
  return udp.find((l) => l.role === 'outside') ?? udp[0];
}

function reply(
  tx: ServerTransaction,
  req: SipRequest,
  deps: PassiveRelayDeps,
  status: number,
  reason: string,
  headers: ReadonlyArray<readonly [string, string]> = [],
): void {
  tx.respond(createResponse(req, status, reason, { toTag: deps.stack.ids.tag(), headers }));
}

/**
 * Passive mode: the outside registrar authenticates and decides; the agent relays each REGISTER
 * to it statefully (a client transaction on the outside interface, our Via on top of the phone's,
 * RFC 3261 §16.6), relays the final answer back (§16.7: our Via removed) and learns the bindings
 * from a 2xx (`learnFromRegisterOk`). Source screening (blocked sources, scanners, site source
 * policy) happens here first, as in main mode.
 */
export function createPassiveRegisterHandler(deps: PassiveRelayDeps): RequestHandler {
  return (request, transaction, context) => {
    relayRegister(request, transaction, context, deps).catch((e: unknown) => {
      deps.logger.warn({ callId: request.callId, err: e }, 'REGISTER relay failed');
      if (transaction.lastStatus === 0) reply(transaction, request, deps, 500, 'Server Internal Error');
    });
  };
}

async function relayRegister(
  request: SipRequest,
  tx: ServerTransaction,
  context: InboundContext,
  deps: PassiveRelayDeps,
): Promise<void> {
  const now = deps.clock.now();
  const flow: Flow = {
    transport: context.transport.protocol,
    address: context.source.address,
    port: context.source.port,
    connectionId: context.connectionId,
  };
  if (screenSource(request, flow.address, now, deps) !== 'ok') {
    return deps.stack.drop(tx);
  }
  // The same "is this REGISTER ours" test as main mode (RFC 3261 §10.3 steps 1 and 5, with myself).
  const target = registerTarget(request, deps.config);
  if (typeof target === 'string') {
    const r = registerRejectResponse(target, deps.config);
    return reply(tx, request, deps, r.status, r.reasonPhrase, r.headers);
  }
  if (checkRegisterSource(flow.address, deps.config.sourcePolicy, EMPTY_CIDR_SET) === 'denied') {
    deps.onSecurityEvents([
      { event: 'register-refused', source: flow.address, detail: 'source not allowed to register', at: now },
    ]);
    const r = registerRejectResponse('forbidden-source', deps.config);
    return reply(tx, request, deps, r.status, r.reasonPhrase, r.headers);
  }
  // §16.3 step 3 / §16.6 step 3: decrement Max-Forwards; at 0, 483.
  const mf = request.maxForwards ?? DEFAULT_MAX_FORWARDS + 1;
  if (mf <= 0) return reply(tx, request, deps, 483, 'Too Many Hops');

  const local = listenerFor(deps.stack.listening());
  if (local === undefined) return reply(tx, request, deps, 503, 'Service Unavailable');
  const address = await deps.resolveHost(deps.upstream.host);
  const sentBy = local.address.includes(':')
    ? `[${local.address}]:${local.port}`
    : `${local.address}:${local.port}`;
  const relayed = prependVia(
    setHeader(request, 'Max-Forwards', String(mf - 1)),
    `SIP/2.0/UDP ${sentBy};branch=${deps.stack.ids.branch()};rport`,
  );
  let settled = false;
  const giveUp = (status: 408 | 503) => {
    if (settled) return;
    settled = true;
    deps.clock.clearTimeout(deadline);
    // §16.7 step 6 / §16.8: no answer from upstream → the proxy answers 408 (503 if unsendable) itself.
    reply(tx, request, deps, status, status === 408 ? 'Request Timeout' : 'Service Unavailable');
  };
  const deadline = deps.clock.setTimeout(() => giveUp(408), deps.upstreamDeadlineMs);
  deps.stack.sendRequest(
    relayed,
    { protocol: 'udp', destination: { address, port: deps.upstream.port }, interfaceName: local.interface },
    {
      onResponse(response, synthetic) {
        if (response.status < 200) return; // Provisionals are not relayed for REGISTER.
        if (synthetic !== undefined) return giveUp(synthetic === 'timeout' ? 408 : 503);
        // A final answer after we gave up teaches nothing: the phone already saw a failure.
        if (settled) return;
        settled = true;
        deps.clock.clearTimeout(deadline);
        void finish(request, response, tx, flow, deps);
      },
    },
  );
}

async function finish(
  request: SipRequest,
  response: SipResponse,
  tx: ServerTransaction,
  flow: Flow,
  deps: PassiveRelayDeps,
): Promise<void> {
  const now = deps.clock.now();
  const aor = canonicalAor(request.to.uri);
  const learned =
    aor === undefined
      ? undefined
      : learnFromRegisterOk(
          request,
          response,
          deps.store.lookup(aor),
          flow,
          now,
          deps.config.defaultExpiresSec,
        );
  if (learned !== undefined) {
    deps.store.apply({ upserts: learned.upserts.map((u) => u.binding), removals: learned.removals });
    try {
      await deps.store.flush();
    } catch (e) {
      deps.logger.warn(
        { callId: request.callId, err: e },
        'bindings journal write failed; serving from memory',
      );
    }
  }
  // §16.7 step 9: remove our Via and pass the response on.
  tx.respond(removeTopVia(response));
  if (learned !== undefined) {
    deps.onRegistrationEvents(
      eventsForRegister(
        {
          kind: 'ok',
          aor: learned.aor,
          upserts: learned.upserts,
          removals: learned.removals,
          response: { status: 200, contacts: [], headers: [] },
        },
        now,
      ),
    );
  }
}
