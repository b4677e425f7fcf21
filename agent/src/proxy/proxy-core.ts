import type { Logger } from 'pino';
import type { SecurityEvent } from '../auth/security-event.js';
import type { Myself } from '../core/myself.js';
import { badExtensionResponse, PROXY_OPTION_TAGS } from '../core/option-tags.js';
import { KNOWN_METHODS, type RequestHandler } from '../core/request-handlers.js';
import type { SipStack } from '../core/sip-stack.js';
import type { Binding } from '../registrar/binding.js';
import type { CallerVerdict } from '../registrar/caller-check.js';
import { createResponse } from '../sip/build.js';
import { reasonPhrase } from '../sip/reason-phrases.js';
import { getContacts, getHeaders, getRecordRoutes } from '../sip/accessors.js';
import { headerKey } from '../sip/compact-forms.js';
import { parseNameAddr } from '../sip/name-addr.js';
import { parseMessage } from '../sip/parse.js';
import type { NameAddr, SipMessage, SipRequest, SipResponse, SipUri } from '../sip/message.js';
import { editHeaders, replaceHeaderValues, shellOf } from '../sip/edit.js';
import type { InboundContext } from '../transport/channels.js';
import type { ServerTransaction, SyntheticCause } from '../transaction/types.js';
import type { Transport, TransportProtocol } from '../transport/types.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { type AdmissionLimits, CallAdmission } from './admission.js';
import { type BodyPolicy, checkBody } from './body-policy.js';
import { bestResponse, cancelsOthers } from './branch-select.js';
import { type Call, type CallDirection, type CallEvents, CallTable } from './calls.js';
import {
  type Flow,
  type HeaderSet,
  type HideOptions,
  hideEdits,
  outsideContactEdit,
  revealEdits,
  type RevealOptions,
  revealFromOutside,
  selfUri,
} from './hiding.js';
import type { InterfaceMap, ProxyInterface } from './interfaces.js';
import { branchFor, fnv, isLoop, isOwnBranch, loopHash } from './loop.js';
import { identityMedia, type MediaBridge } from './media-bridge.js';
import { planLookup, RESOLVE_FAILURE_STATUS, type ResolveResult, type Target } from './resolve/index.js';
import { decideRoute, type ForwardTarget, type RouteContext } from './route.js';
import type { Sealer } from './seal.js';
import { byeFrom, type DialogView, SessionExpiry } from './session-expiry.js';
import {
  type SessionTimerPolicy,
  type SessionTimerRequestInfo,
  onRequest as sessionTimerRequest,
  onResponse as sessionTimerResponse,
} from './session-timer.js';
import { sessionTimerKey } from './session-timer-table.js';

/** The proxy's settings, compiled from config and policies (see `proxy-settings.ts`). */
export interface ProxySettings {
  readonly outboundProxy: SipUri | undefined;
  readonly statelessMethods: ReadonlySet<string>;
  /** Timer C (§16.8): an INVITE branch ringing this long without a final response is cancelled. */
  readonly inviteTimeoutMs: number;
  readonly hide: boolean;
  readonly strip: readonly string[];
  readonly admission: AdmissionLimits;
  readonly body: BodyPolicy;
  /** RFC 4028 session timers on INVITE/UPDATE (see `session-timer.ts`, `session-expiry.ts`). */
  readonly sessionTimer: SessionTimerPolicy;
}

/** Outcome of the caller check for a request from the inside (the registrar's digest authentication). */
export type CallerCheck = CallerVerdict;

export interface ProxyDeps {
  readonly stack: SipStack;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly sealer: Sealer;
  readonly settings: () => ProxySettings;
  readonly myself: () => Myself;
  /** The interfaces with their bound ports (available once the stack listens). */
  readonly interfaces: () => InterfaceMap;
  readonly locate: (aor: string) => readonly Binding[];
  readonly isKnownUser: (aor: string) => boolean;
  /** RFC 3263: targets for a URI with a domain host. */
  readonly resolve: (uri: SipUri) => Promise<ResolveResult>;
  /** Digest check of a request from the inside (policy `authenticate`); absent = everyone passes. */
  readonly checkCaller?: (request: SipRequest, context: InboundContext) => CallerCheck;
  readonly media?: MediaBridge;
  readonly callEvents?: CallEvents;
  readonly onSecurityEvent?: (e: SecurityEvent) => void;
}

/** One place a branch may be sent (RFC 3263 gives several, tried in order). */
interface Hop {
  readonly protocol: TransportProtocol;
  readonly address: string;
  readonly port: number;
}

interface Branch {
  readonly target: ForwardTarget;
  /** The hops are a flow (binding, sealed contact): keep its transport whatever the size. */
  pinned: boolean;
  hops: readonly Hop[];
  hopIndex: number;
  /** The request as last sent on this branch (for CANCEL). */
  sent: SipRequest | undefined;
  sentTo: { hop: Hop; out: ProxyInterface } | undefined;
  provisional: boolean;
  /** When the last provisional response arrived (Timer C restarts from it). */
  lastProvisionalAt: number | undefined;
  /** The final response, until the response context is done (then only its status is kept). */
  final: SipResponse | undefined;
  finalStatus: number | undefined;
  /** The final response is ours (resolution failure): already in upstream form. */
  finalIsLocal: boolean;
  cancelPending: boolean;
  cancelled: boolean;
  timerC: TimerHandle | undefined;
}

/** What one forwarded request is built from (stateful branch or stateless forward). */
interface OutgoingSpec {
  /** After route processing. */
  readonly routed: SipRequest;
  readonly requestUri: string;
  readonly arrival: ProxyInterface;
  readonly out: ProxyInterface;
  readonly hop: Hop;
  /** Where the request came from (sealed into contacts that cross the firewall). */
  readonly source: Flow;
  readonly recordRoute: boolean;
  readonly branch: string;
  /** Stateless forward: the Via stack to seal into the agent's Via when it is hidden (§16.11). */
  readonly stash?: readonly string[];
  /** Further header edits (session timer), applied first: later edits of the same header win. */
  readonly extra?: readonly HeaderSet[];
}

/** The proxy's state for one forwarded request (RFC 3261 §16 "response context"). */
interface ProxyTx {
  readonly server: ServerTransaction;
  /** Loop hash of the request as received (revealed), carried in every branch id. */
  readonly hash: string;
  /**
   * As received (upstream form: Vias, Call-ID, From/To are what the previous hop expects). Only
   * its routing fields once every branch is final ({@link shellOf}): the context then just
   * forwards 2xx retransmissions, for which they suffice.
   */
  original: SipRequest;
  /** After route processing (routing fields only once every branch is final). */
  routed: SipRequest;
  readonly arrival: ProxyInterface;
  readonly source: Flow;
  readonly branches: Branch[];
  finalSent: boolean;
  cancelled: boolean;
  cancelTimer: TimerHandle | undefined;
  /** Dropped once every branch is final: the call table keeps an ongoing call. */
  call: Call | undefined;
  /** Record-Route this request (it may create a dialog). */
  readonly recordRoute: boolean;
  /** Session timer (RFC 4028): what the request was forwarded with, and the edits for that. */
  readonly timer: SessionTimerRequestInfo | undefined;
  /** Emptied once every branch is final (no branch is sent again). */
  timerEdits: readonly HeaderSet[];
}

const NO_EDITS: readonly HeaderSet[] = [];
const DIALOG_CREATING = new Set(['INVITE', 'SUBSCRIBE', 'REFER', 'NOTIFY']);
const CALL_LIFETIME_MS = 12 * 3600 * 1000;
const CANCEL_GRACE_MS = 32_000;

/**
 * The stateful proxy (RFC 3261 §16): per request a response context with one branch per target
 * (parallel forking), RFC 3263 failover between a target's addresses, best-response selection,
 * CANCEL of the other branches, Record-Route (double when crossing interfaces), NAT rewriting and
 * topology hiding for what leaves towards the outside, call admission and call monitoring. The
 * routing decision itself is pure (`route.ts`); this class moves messages and keeps the state.
 */
export class SipProxy {
  private readonly byServer = new Map<ServerTransaction, ProxyTx>();
  private readonly admission: CallAdmission;
  readonly calls: CallTable;
  private readonly media: MediaBridge;
  private sweep: TimerHandle;
  readonly counters = {
    forwarded: 0,
    rejected: 0,
    acksForwarded: 0,
    strayResponsesDropped: 0,
    statelessForwarded: 0,
    callsRefused: 0,
    sessionsExpired: 0,
  };
  /** Session timers of calls through the agent and the teardown of those not refreshed. */
  private readonly expiry: SessionExpiry;
  /** Set while the BYEs of an expired session are forwarded (their call ends as `session-expired`). */
  private expiring = false;

  constructor(private readonly deps: ProxyDeps) {
    this.admission = new CallAdmission(deps.settings().admission);
    this.media = deps.media ?? identityMedia;
    const events = deps.callEvents;
    this.calls = new CallTable(
      {
        onStarted: (c) => events?.onStarted(c),
        onAnswered: (c) => events?.onAnswered(c),
        onEnded: (c) => {
          this.admission.release(c.users);
          if (c.toTag !== undefined) this.expiry.end(sessionTimerKey(c.callId, c.fromTag, c.toTag));
          this.media.onCallEnded(c.callId, c.fromTag);
          events?.onEnded(c);
        },
      },
      CALL_LIFETIME_MS,
    );
    this.sweep = deps.clock.setTimeout(() => this.sweepCalls(), 60_000);
    this.expiry = new SessionExpiry(deps.clock, (key, views) => this.onSessionExpired(key, views));
  }

  /** Dialogs with a running session timer. */
  get sessionTimers(): number {
    return this.expiry.size;
  }

  /** Registers the proxy's handlers on the stack. */
  attach(): void {
    const handle: RequestHandler = (req, tx, ctx, related) => this.onRequest(req, tx, ctx, related);
    for (const m of PROXIED_METHODS) this.deps.stack.handlers.register(m, handle);
    this.deps.stack.handlers.stray = {
      onStrayAck: (ack, ctx) => this.onStrayAck(ack, ctx),
      onStrayResponse: (r, ctx) => this.onStrayResponse(r, ctx),
    };
  }

  /** New limits after a config change. */
  reconfigure(): void {
    this.admission.setLimits(this.deps.settings().admission);
  }

  stop(): void {
    this.deps.clock.clearTimeout(this.sweep);
    this.expiry.clear();
    this.calls.endAll(this.deps.clock.now());
    for (const ptx of this.byServer.values()) this.clearTimers(ptx);
  }

  private sweepCalls(): void {
    this.calls.sweep(this.deps.clock.now());
    this.sweep = this.deps.clock.setTimeout(() => this.sweepCalls(), 60_000);
  }

  // ---- requests ---------------------------------------------------------------------------

  onRequest(
    request: SipRequest,
    tx: ServerTransaction,
    context: InboundContext,
    related: { readonly cancels?: ServerTransaction | undefined },
  ): void {
    if (request.method === 'CANCEL') {
      this.onCancel(request, tx, related.cancels);
      return;
    }
    const interfaces = this.deps.interfaces();
    const arrival = interfaces.get(context.transport.interfaceName) ?? interfaces.all[0]!;
    // §16.3 step 3 and 4: Max-Forwards and loops.
    if (request.maxForwards === 0) {
      this.reject(tx, request, 483, 'Too Many Hops');
      return;
    }
    const incoming = arrival.role === 'outside' ? revealFromOutside(request, this.revealOptions()) : request;
    const hash = loopHash(incoming);
    if (isLoop(incoming, interfaces, hash)) {
      this.reject(tx, request, 482, 'Loop Detected');
      return;
    }
    // §16.3 step 5: Proxy-Require names extensions this proxy must understand.
    const refusal = badExtensionResponse(
      request,
      'proxy-require',
      () => this.deps.stack.ids.tag(),
      PROXY_OPTION_TAGS,
    );
    if (refusal !== undefined) {
      this.counters.rejected++;
      tx.respond(refusal);
      return;
    }
    const body = checkBody(request, this.deps.settings().body);
    if (!body.ok) {
      this.counters.rejected++;
      tx.respond(
        createResponse(request, body.status, body.reason, {
          toTag: this.deps.stack.ids.tag(),
          headers: body.headers,
        }),
      );
      return;
    }
    const decision = decideRoute(incoming, this.routeContext(arrival));
    if (decision.kind === 'reject') {
      this.reject(tx, request, decision.status, decision.reason);
      return;
    }
    if (decision.kind === 'local') {
      const status = request.to.tag === undefined ? 404 : 481;
      this.reject(tx, request, status, status === 404 ? 'Not Found' : 'Call/Transaction Does Not Exist');
      return;
    }
    const source: Flow = {
      protocol: context.transport.protocol,
      address: context.source.address,
      port: context.source.port,
    };
    const newDialog = request.to.tag === undefined;
    let caller: string | undefined;
    if (arrival.role === 'inside' && newDialog && this.deps.checkCaller !== undefined) {
      const check = this.deps.checkCaller(request, context);
      if (check.kind === 'drop') {
        this.deps.stack.drop(tx);
        return;
      }
      if (check.kind === 'respond') {
        tx.respond(check.response);
        return;
      }
      caller = check.user;
    }
    const routed = this.consumeCredentials(decision.request);
    if (request.method === 'BYE') {
      this.expiry.end(sessionTimerKey(routed.callId, routed.from.tag ?? '', routed.to.tag ?? ''));
      this.endCallFor(routed, 200);
    }
    if (this.deps.settings().statelessMethods.has(request.method)) {
      this.forwardStateless(routed, decision.targets[0]!, arrival, source, tx, hash);
      return;
    }
    // RFC 4028 §8.1: a Session-Expires below our Min-SE is refused (422), else it is raised,
    // inserted or left as it is; the 2xx then says what to track.
    let timer: SessionTimerRequestInfo | undefined;
    let timerEdits: readonly HeaderSet[] = [];
    if (request.method === 'INVITE' || request.method === 'UPDATE') {
      const st = sessionTimerRequest(routed, this.deps.settings().sessionTimer);
      if (st.kind === 'reject') {
        this.counters.rejected++;
        tx.respond(
          createResponse(request, st.status, st.reason, {
            toTag: this.deps.stack.ids.tag(),
            headers: st.headers,
          }),
        );
        return;
      }
      timer = st.info;
      timerEdits = st.edits;
    }
    const ptx: ProxyTx = {
      server: tx,
      hash,
      original: request,
      routed,
      arrival,
      source,
      branches: decision.targets.map((target) => newBranch(target)),
      finalSent: false,
      cancelled: false,
      cancelTimer: undefined,
      call: undefined,
      recordRoute: newDialog && DIALOG_CREATING.has(request.method),
      timer,
      timerEdits,
    };
    if (request.method === 'INVITE' && newDialog) {
      const users = [caller ?? this.callerAor(request, arrival), decision.calleeAor].filter(
        (u): u is string => u !== undefined,
      );
      const verdict = this.admission.admit(users, this.deps.clock.now());
      if (!verdict.ok) {
        this.counters.callsRefused++;
        this.deps.onSecurityEvent?.({
          event: 'call-refused',
          source: context.source.address,
          detail: `${verdict.limit}${verdict.user === undefined ? '' : ` ${verdict.user}`}`,
          at: this.deps.clock.now(),
        });
        const headers: [string, string][] = verdict.status === 503 ? [['Retry-After', '5']] : [];
        tx.respond(
          createResponse(request, verdict.status, verdict.reason, {
            toTag: this.deps.stack.ids.tag(),
            headers,
          }),
        );
        return;
      }
      ptx.call = this.calls.start({
        callId: incoming.callId,
        fromTag: request.from.tag ?? '',
        from: request.from.uri.raw,
        to: request.to.uri.raw,
        direction: this.direction(arrival, decision.calleeAor),
        users,
        startedAt: this.deps.clock.now(),
      });
    }
    this.byServer.set(tx, ptx);
    this.counters.forwarded++;
    for (const b of ptx.branches) this.startBranch(ptx, b);
  }

  /**
   * The credentials a caller gave the agent (Proxy-Authorization for one of the site's realms)
   * are the agent's to consume: they never travel on (RFC 3261 §22.3; they would show the user
   * name and a digest response to the next hop, and make the request too big for UDP).
   */
  private consumeCredentials(request: SipRequest): SipRequest {
    const fields = request.headers.filter((h) => h.key === 'proxy-authorization');
    if (fields.length === 0) return request;
    const myself = this.deps.myself();
    const keep = fields.filter((h) => {
      const realm = /realm\s*=\s*"([^"]*)"/i.exec(h.value)?.[1];
      return realm === undefined || !myself.isDomain(realm);
    });
    if (keep.length === fields.length) return request;
    return replaceHeaderValues(
      request,
      'Proxy-Authorization',
      keep.map((h) => h.value),
    );
  }

  private routeContext(arrival: ProxyInterface): RouteContext {
    return {
      myself: this.deps.myself(),
      sealer: this.deps.sealer,
      arrival,
      locate: this.deps.locate,
      isKnownUser: this.deps.isKnownUser,
      outboundProxy: this.deps.settings().outboundProxy,
    };
  }

  private direction(arrival: ProxyInterface, calleeAor: string | undefined): CallDirection {
    if (arrival.role === 'outside') return 'inbound';
    return calleeAor === undefined ? 'outbound' : 'internal';
  }

  /** An inside caller's AOR from its From URI (when no authentication named it). */
  private callerAor(request: SipRequest, arrival: ProxyInterface): string | undefined {
    const uri = request.from.uri;
    if (arrival.role !== 'inside' || uri.kind !== 'sip' || uri.user === undefined) return undefined;
    const domain = this.deps.myself().aorDomain(uri.host);
    return domain === undefined ? undefined : `sip:${uri.user}@${domain}`;
  }

  private reject(tx: ServerTransaction, request: SipRequest, status: number, reason: string): void {
    this.counters.rejected++;
    tx.respond(createResponse(request, status, reason, { toTag: this.deps.stack.ids.tag() }));
  }

  // ---- branches ---------------------------------------------------------------------------

  private startBranch(ptx: ProxyTx, branch: Branch): void {
    const hop = branch.target.hop;
    const direct = hop.kind === 'flow' ? hop.flow : numericHop(hop.uri);
    if (direct !== undefined) {
      // Known at once: sent in this very turn (no promise, nothing outlives the turn).
      branch.hops = [direct];
      branch.pinned = hop.kind === 'flow';
      this.sendBranch(ptx, branch);
      return;
    }
    if (hop.kind === 'flow') return;
    this.deps.resolve(hop.uri).then(
      (result) => {
        if (ptx.finalSent && ptx.routed.method !== 'INVITE') return;
        if (!result.ok) {
          const { status, reason } = RESOLVE_FAILURE_STATUS[result.reason];
          this.deps.logger.info(
            { target: hop.uri.raw, reason: result.reason, detail: result.detail },
            'target not resolved',
          );
          this.localFinal(ptx, branch, status, reason);
          return;
        }
        branch.hops = result.targets.map(hopOf);
        if (ptx.cancelled) {
          this.localFinal(ptx, branch, 487, 'Request Terminated');
          return;
        }
        this.sendBranch(ptx, branch);
      },
      (e: unknown) => {
        this.deps.logger.warn({ err: e, target: hop.uri.raw }, 'target resolution failed');
        this.localFinal(ptx, branch, 503, 'Service Unavailable');
      },
    );
  }

  /** A branch ends without a downstream answer (unresolvable, cancelled before it left). */
  private localFinal(ptx: ProxyTx, branch: Branch, status: number, reason: string): void {
    branch.final = createResponse(ptx.original, status, reason, { toTag: this.deps.stack.ids.tag() });
    branch.finalStatus = status;
    branch.finalIsLocal = true;
    this.afterFinal(ptx);
  }

  private sendBranch(ptx: ProxyTx, branch: Branch): void {
    const hop = branch.hops[branch.hopIndex];
    if (hop === undefined) {
      this.localFinal(ptx, branch, 480, 'Temporarily Unavailable');
      return;
    }
    const interfaces = this.deps.interfaces();
    const out = interfaces.forDestination(hop.address);
    let req = this.outgoing({
      routed: ptx.routed,
      requestUri: branch.target.requestUri,
      arrival: ptx.arrival,
      out,
      hop,
      source: ptx.source,
      recordRoute: ptx.recordRoute,
      branch: branchFor(ptx.hash, this.deps.stack.ids.branch()),
      extra: ptx.timerEdits,
    });
    const media = this.withMedia(req, ptx.arrival, out, ptx.routed.callId);
    if (typeof media === 'number') {
      this.localFinal(ptx, branch, media, reasonPhrase(media));
      return;
    }
    req = media;
    branch.sent = req;
    branch.sentTo = { hop, out };
    const settings = this.deps.settings();
    if (req.method === 'INVITE') this.armTimerC(ptx, branch, settings.inviteTimeoutMs);
    try {
      this.deps.stack.sendRequest(
        req,
        {
          protocol: hop.protocol,
          destination: { address: hop.address, port: hop.port },
          interfaceName: out.name,
          pinned: branch.pinned,
        },
        { onResponse: (r, synthetic) => this.onBranchResponse(ptx, branch, r, synthetic) },
      );
    } catch (e) {
      this.deps.logger.warn({ err: e, callId: ptx.original.callId }, 'branch could not be sent');
      this.localFinal(ptx, branch, 503, 'Service Unavailable');
    }
  }

  /**
   * The request for one hop: Request-URI, Max-Forwards (§16.6 step 3), Record-Route (step 4:
   * one entry, or two when crossing interfaces), the agent's Via (step 8), and what leaves
   * towards the outside from the inside gets NAT rewriting and topology hiding.
   */
  private outgoing(m: OutgoingSpec): SipRequest {
    const { routed, requestUri, arrival, out, hop, source, recordRoute } = m;
    const set: HeaderSet[] = m.extra === undefined ? [] : [...m.extra];
    const prepend: [string, string][] = [];
    const hiding = this.hideOptions(arrival, out, hop.protocol);
    let via = this.viaFor(out, hop.protocol, m.branch);
    if (hiding?.hide === true) {
      if (m.stash !== undefined) via += `;swv=${this.deps.sealer.seal(JSON.stringify(m.stash))}`;
      set.push({ name: 'Via', values: [via] });
    } else {
      prepend.push(['Via', via]);
    }
    let rr: readonly NameAddr[] | undefined;
    if (recordRoute) {
      const entries = [`<${selfUri(out, hop.protocol)};lr>`];
      if (out.name !== arrival.name) entries.push(`<${selfUri(arrival, source.protocol)};lr>`);
      if (hiding?.hide === true) {
        // Hidden in the same pass: the list as it would be with our entries on top.
        const own = entries.map((e) => parseNameAddr(e)!);
        const existing = getRecordRoutes(routed);
        rr = own.concat(existing.ok ? existing.value : []);
      } else {
        prepend.push(['Record-Route', entries.join(', ')]);
      }
    }
    if (hiding !== undefined) set.push(...hideEdits(routed, source, hiding, rr));
    else if (arrival.role === 'outside' && out.role === 'inside') {
      const contact = outsideContactEdit(routed, source, this.contactOptions(out, hop.protocol));
      if (contact !== undefined) set.push(contact);
    }
    return editHeaders(routed, {
      set,
      prepend,
      maxForwards: routed.maxForwards === undefined ? 70 : routed.maxForwards - 1,
      ...(requestUri === routed.requestUri.raw ? {} : { requestUri }),
    });
  }

  private viaFor(out: ProxyInterface, protocol: TransportProtocol, branch: string): string {
    const port = out.ports.get(protocol) ?? out.ports.get('udp') ?? 5060;
    const host = out.advertised.includes(':') ? `[${out.advertised}]` : out.advertised;
    return `SIP/2.0/${protocol.toUpperCase()} ${host}:${port};branch=${branch}`;
  }

  private contactOptions(iface: ProxyInterface, protocol: TransportProtocol) {
    return { interfaces: this.deps.interfaces(), sealer: this.deps.sealer, out: iface, protocol };
  }

  /** Hiding options when a message goes from `from` (inside) to `to` (outside); else `undefined`. */
  private revealOptions(): RevealOptions {
    return { sealer: this.deps.sealer, interfaces: this.deps.interfaces(), hide: this.deps.settings().hide };
  }

  private hideOptions(
    from: ProxyInterface,
    to: ProxyInterface,
    protocol: TransportProtocol,
  ): HideOptions | undefined {
    if (from.role !== 'inside' || to.role !== 'outside') return undefined;
    const s = this.deps.settings();
    return {
      interfaces: this.deps.interfaces(),
      sealer: this.deps.sealer,
      out: to,
      protocol,
      strip: s.strip,
      hide: s.hide,
    };
  }

  /** The one place an SDP offer or answer crossing interfaces is handed to the media layer. */
  private withMedia<M extends SipMessage>(
    msg: M,
    from: ProxyInterface,
    to: ProxyInterface,
    callId: string,
  ): M | number {
    if (from.name === to.name) return msg;
    // A 2xx to an INVITE without a body still goes: it says which forked early dialog won.
    if (
      msg.body.length === 0 &&
      !(msg.kind === 'response' && msg.status >= 200 && msg.status < 300 && msg.cseq.method === 'INVITE')
    )
      return msg;
    return this.media.onSdp(msg, { callId, from, to });
  }

  /**
   * §16.8 Timer C, armed once per branch: when it fires it looks at the last provisional and, if
   * that is recent, waits out the rest (no timer churn per 180/183 at thousands of calls/s).
   */
  private armTimerC(ptx: ProxyTx, branch: Branch, ms: number): void {
    if (branch.timerC !== undefined) this.deps.clock.clearTimeout(branch.timerC);
    branch.timerC = this.deps.clock.setTimeout(() => {
      branch.timerC = undefined;
      if (branch.finalStatus !== undefined) return;
      const quiet = this.deps.clock.now() - (branch.lastProvisionalAt ?? 0);
      if (branch.lastProvisionalAt !== undefined && quiet < ms) {
        this.armTimerC(ptx, branch, ms - quiet);
        return;
      }
      this.deps.logger.info({ callId: ptx.original.callId }, 'Timer C fired: branch cancelled');
      if (branch.provisional) this.sendCancel(branch);
    }, ms);
  }

  // ---- responses --------------------------------------------------------------------------

  private onBranchResponse(
    ptx: ProxyTx,
    branch: Branch,
    response: SipResponse,
    synthetic?: SyntheticCause,
  ): void {
    const status = response.status;
    if (ptx.call !== undefined && branch.finalStatus === undefined) this.calls.code(ptx.call, status);
    if (status < 200) {
      if (branch.finalStatus !== undefined) return;
      branch.provisional = true;
      if (branch.cancelPending) {
        branch.cancelPending = false;
        this.sendCancel(branch);
      }
      branch.lastProvisionalAt = this.deps.clock.now();
      if (status === 100 || ptx.finalSent) return;
      this.forwardUpstream(ptx, branch, response);
      return;
    }
    if (status < 300 && branch.finalStatus !== undefined && branch.finalStatus < 300) {
      // RFC 6026: a 2xx retransmission (or a 2xx of another fork) goes upstream too.
      this.forwardUpstream(ptx, branch, response);
      return;
    }
    if (branch.finalStatus !== undefined) return;
    if (branch.timerC !== undefined) {
      this.deps.clock.clearTimeout(branch.timerC);
      branch.timerC = undefined;
    }
    // RFC 3263 §4.3: a timeout, transport error or 503 before any answer → the next address.
    const failover = (synthetic !== undefined || status === 503) && !branch.provisional && !ptx.cancelled;
    if (failover && branch.hopIndex + 1 < branch.hops.length) {
      this.deps.logger.info(
        { callId: ptx.original.callId, status, synthetic, next: branch.hops[branch.hopIndex + 1] },
        'target failed: trying the next one',
      );
      branch.hopIndex++;
      this.sendBranch(ptx, branch);
      return;
    }
    branch.final = response;
    branch.finalStatus = status;
    if (status < 300) {
      this.forwardUpstream(ptx, branch, response);
      ptx.finalSent = true;
      if (ptx.call !== undefined) this.calls.answered(ptx.call, response.to.tag, this.deps.clock.now());
      if (ptx.routed.method === 'INVITE') this.cancelOthers(ptx, branch);
      this.afterFinal(ptx);
      return;
    }
    // This fork's early dialog is over: its media goes back to a fork still ringing.
    if (ptx.routed.method === 'INVITE' && response.to.tag !== undefined)
      this.media.onEarlyDialogEnded(ptx.routed.callId, response.to.tag);
    if (ptx.routed.method === 'INVITE' && cancelsOthers(status)) this.cancelOthers(ptx, branch);
    this.afterFinal(ptx);
  }

  /** §16.7 step 6: once every branch is final and no 2xx went up, the best response goes up. */
  private afterFinal(ptx: ProxyTx): void {
    if (ptx.branches.some((b) => b.finalStatus === undefined)) return;
    this.byServer.delete(ptx.server);
    this.clearTimers(ptx);
    const finals = ptx.branches.map((b) => b.final!);
    // The context now only forwards 2xx retransmissions (RFC 6026) for up to 64·T1: let the
    // messages it no longer needs go (a call's heap is what GC pays for at thousands of calls/s).
    for (const b of ptx.branches) {
      b.sent = undefined;
      b.final = undefined;
    }
    if (!ptx.finalSent) this.sendBest(ptx, finals);
    ptx.original = shellOf(ptx.original);
    ptx.routed = shellOf(ptx.routed);
    // Nothing below reads them once every branch is final: a 2xx retransmission only goes up.
    ptx.call = undefined;
    ptx.timerEdits = NO_EDITS;
  }

  /** §16.7 step 6–7: the best final response upstream (no 2xx went up). */
  private sendBest(ptx: ProxyTx, finals: readonly SipResponse[]): void {
    ptx.finalSent = true;
    const best = bestResponse(finals)!;
    const branch = ptx.branches[finals.indexOf(best)]!;
    if (ptx.call !== undefined) this.calls.end(ptx.call, best.status, this.deps.clock.now());
    if (best.status === 503 || branch.finalIsLocal) {
      // §16.7 step 6: never pass a downstream 503 on (it would say *we* are overloaded).
      const status = best.status === 503 && !branch.finalIsLocal ? 500 : best.status;
      const reason = status === best.status ? best.reason : 'Server Internal Error';
      ptx.server.respond(
        createResponse(ptx.original, status, reason, { toTag: best.to.tag ?? this.deps.stack.ids.tag() }),
      );
      return;
    }
    let upstream = best;
    if (best.status === 401 || best.status === 407) upstream = aggregateChallenges(best, finals);
    this.forwardUpstream(ptx, branch, upstream);
  }

  /** Sends a downstream response up through the server transaction, in upstream form. */
  private forwardUpstream(ptx: ProxyTx, branch: Branch, response: SipResponse): void {
    const down = branch.sentTo?.out ?? ptx.arrival;
    const up = ptx.arrival;
    const hop = branch.sentTo?.hop;
    // Later edits of a header win: Via and identity last.
    const set: HeaderSet[] = [];
    if (down.role === 'outside' && up.role === 'inside') {
      set.push(...revealEdits(response, this.revealOptions()));
      const contact =
        hop === undefined
          ? undefined
          : outsideContactEdit(response, hop, this.contactOptions(up, ptx.source.protocol));
      if (contact !== undefined) set.push(contact);
    }
    const hiding = this.hideOptions(down, up, ptx.source.protocol);
    if (hiding !== undefined) set.push(...hideEdits(response, hop ?? ptx.source, hiding));
    set.push({ name: 'Via', values: ptx.original.via.map((v) => v.raw) });
    if (down.name !== up.name) set.push(...identityEdits(response, ptx.original));
    // RFC 4028 §8.2: a 2xx says whether (and for how long) the session is timed.
    const timer =
      ptx.timer !== undefined && response.status < 300 && response.status >= 200
        ? sessionTimerResponse(response, ptx.timer)
        : undefined;
    if (timer?.kind === 'track') set.push(...timer.edits);
    const r = editHeaders(response, { set: lastWins(set) });
    const media = this.withMedia(r, down, up, ptx.routed.callId);
    if (typeof media === 'number') {
      this.deps.logger.warn({ callId: ptx.original.callId, status: media }, 'media refused an answer');
      return;
    }
    ptx.server.respond(media);
    if (timer === undefined || timer.kind === 'ignore') return;
    const key = sessionTimerKey(ptx.routed.callId, ptx.routed.from.tag ?? '', response.to.tag ?? '');
    if (timer.kind === 'none') {
      this.expiry.end(key);
      return;
    }
    const views = ptx.recordRoute ? this.dialogViews(ptx, branch, response, media) : undefined;
    this.expiry.track(key, timer.intervalSec, views);
  }

  /**
   * Both parties' views of the dialog a 2xx to an initial INVITE established, as the proxy
   * forwarded it (for the BYEs of a session that expires): the caller got `upstream`, the callee
   * the INVITE `branch.sent` and answered with `downstream`.
   */
  private dialogViews(
    ptx: ProxyTx,
    branch: Branch,
    downstream: SipResponse,
    upstream: SipResponse,
  ): readonly [DialogView, DialogView] | undefined {
    const invite = branch.sent;
    const hop = branch.sentTo?.hop;
    const out = branch.sentTo?.out;
    const calleeTarget = firstContact(upstream);
    const callerTarget = invite === undefined ? undefined : firstContact(invite);
    if (invite === undefined || hop === undefined || out === undefined) return undefined;
    if (calleeTarget === undefined || callerTarget === undefined) return undefined;
    const upRoutes = getRecordRoutes(upstream);
    const downRoutes = getRecordRoutes(invite);
    const caller: DialogView = {
      interfaceName: ptx.arrival.name,
      source: ptx.source,
      requestUri: calleeTarget,
      routes: (upRoutes.ok ? upRoutes.value : []).map((r) => r.raw).reverse(),
      from: ptx.original.from.raw,
      to: upstream.to.raw,
      callId: ptx.original.callId,
      cseq: ptx.original.cseq.seq,
    };
    const callee: DialogView = {
      interfaceName: out.name,
      source: { protocol: hop.protocol, address: hop.address, port: hop.port },
      requestUri: callerTarget,
      routes: (downRoutes.ok ? downRoutes.value : []).map((r) => r.raw),
      from: downstream.to.raw,
      to: invite.from.raw,
      callId: invite.callId,
      cseq: 0,
    };
    return [caller, callee];
  }

  /**
   * RFC 4028: nobody refreshed the session in time. Each party gets the BYE the other would have
   * sent, through the proxy's own forwarding (hiding and NAT rewriting as for any BYE); the first
   * BYE ends the call in the call table, which closes its media.
   */
  private onSessionExpired(key: string, views: readonly [DialogView, DialogView] | undefined): void {
    this.counters.sessionsExpired++;
    this.deps.logger.info(
      { dialog: key, byes: views === undefined ? 0 : 2 },
      'session expired: call torn down',
    );
    if (views === undefined) return;
    this.expiring = true;
    try {
      for (const view of views) {
        const parsed = parseMessage(byeFrom(view));
        if (!parsed.ok || parsed.value.kind !== 'request') continue;
        const bye = parsed.value;
        const transport = internalTransport(view);
        this.onRequest(
          bye,
          answerSink(bye),
          { source: { address: view.source.address, port: view.source.port }, transport },
          {},
        );
      }
    } finally {
      this.expiring = false;
    }
  }

  private cancelOthers(ptx: ProxyTx, except: Branch): void {
    for (const b of ptx.branches) if (b !== except) this.cancelBranch(b);
  }

  private cancelBranch(b: Branch): void {
    if (b.finalStatus !== undefined || b.cancelled) return;
    if (b.provisional) this.sendCancel(b);
    else b.cancelPending = true;
  }

  /** §9.1: CANCEL with the branch's Request-URI, Call-ID, From, To, CSeq number, top Via and Route. */
  private sendCancel(b: Branch): void {
    const sent = b.sent;
    const to = b.sentTo;
    if (sent === undefined || to === undefined || b.cancelled) return;
    b.cancelled = true;
    let text = `CANCEL ${sent.requestUri.raw} SIP/2.0\r\nVia: ${sent.via[0]!.raw}\r\nMax-Forwards: 70\r\n`;
    for (const h of sent.headers) {
      if (h.key === 'from' || h.key === 'to' || h.key === 'call-id' || h.key === 'route') text += h.raw;
    }
    text += `CSeq: ${sent.cseq.seq} CANCEL\r\nContent-Length: 0\r\n\r\n`;
    const parsed = parseMessage(Buffer.from(text, 'latin1'));
    if (!parsed.ok || parsed.value.kind !== 'request') return;
    try {
      this.deps.stack.sendRequest(
        parsed.value,
        {
          protocol: to.hop.protocol,
          destination: { address: to.hop.address, port: to.hop.port },
          interfaceName: to.out.name,
        },
        { onResponse: () => {} },
      );
    } catch (e) {
      this.deps.logger.warn({ err: e }, 'CANCEL could not be sent');
    }
  }

  /** §16.10: a CANCEL for a request we forward: 200 at once, then CANCEL every pending branch. */
  private onCancel(cancel: SipRequest, tx: ServerTransaction, target: ServerTransaction | undefined): void {
    const ptx = target === undefined ? undefined : this.byServer.get(target);
    if (ptx === undefined) {
      this.reject(tx, cancel, 481, 'Call/Transaction Does Not Exist');
      return;
    }
    tx.respond(
      createResponse(cancel, 200, 'OK', {
        toTag: ptx.server.lastToTag ?? this.deps.stack.ids.tag(),
      }),
    );
    if (ptx.cancelled) return;
    ptx.cancelled = true;
    if (ptx.call !== undefined) ptx.call.cancelled = true;
    for (const b of ptx.branches) this.cancelBranch(b);
    // A downstream that never answers the CANCEL must not leave the caller waiting for good.
    ptx.cancelTimer = this.deps.clock.setTimeout(() => {
      if (ptx.finalSent) return;
      for (const b of ptx.branches)
        if (b.finalStatus === undefined) this.localFinal(ptx, b, 487, 'Request Terminated');
    }, CANCEL_GRACE_MS);
  }

  private clearTimers(ptx: ProxyTx): void {
    if (ptx.cancelTimer !== undefined) this.deps.clock.clearTimeout(ptx.cancelTimer);
    for (const b of ptx.branches) if (b.timerC !== undefined) this.deps.clock.clearTimeout(b.timerC);
  }

  private endCallFor(request: SipRequest, status: number): void {
    const call = this.calls.find(request.callId, request.from.tag, request.to.tag);
    if (call === undefined) return;
    const reason = this.expiring
      ? 'session-expired'
      : request.from.tag === call.fromTag
        ? 'bye-caller'
        : 'bye-callee';
    this.calls.end(call, status, this.deps.clock.now(), reason);
  }

  // ---- ACK for 2xx, stateless forwarding, stray responses -------------------------------

  /** §16.6 for an ACK to a 2xx (end to end, no transaction): routed and sent once. */
  onStrayAck(ack: SipRequest, context: InboundContext): void {
    const interfaces = this.deps.interfaces();
    const arrival = interfaces.get(context.transport.interfaceName) ?? interfaces.all[0]!;
    if (ack.maxForwards === 0) return;
    const incoming = arrival.role === 'outside' ? revealFromOutside(ack, this.revealOptions()) : ack;
    if (isLoop(incoming, interfaces)) return;
    const decision = decideRoute(incoming, this.routeContext(arrival));
    if (decision.kind !== 'forward') {
      this.deps.logger.debug({ callId: ack.callId }, 'ACK for nobody dropped');
      return;
    }
    const source: Flow = {
      protocol: context.transport.protocol,
      address: context.source.address,
      port: context.source.port,
    };
    this.counters.acksForwarded++;
    this.sendOnce(decision.request, decision.targets[0]!, arrival, source, undefined, loopHash(incoming));
  }

  /** §16.11: a stateless forward: one send, a branch derived from the request's own. */
  private forwardStateless(
    request: SipRequest,
    target: ForwardTarget,
    arrival: ProxyInterface,
    source: Flow,
    tx: ServerTransaction,
    hash: string,
  ): void {
    this.counters.statelessForwarded++;
    // The server transaction is not used: the answer comes back as a stray response.
    this.deps.stack.drop(tx);
    this.sendOnce(
      request,
      target,
      arrival,
      source,
      tx.request.via.map((v) => v.raw),
      hash,
    );
  }

  private sendOnce(
    routed: SipRequest,
    target: ForwardTarget,
    arrival: ProxyInterface,
    source: Flow,
    stash: readonly string[] | undefined,
    hash: string,
  ): void {
    const direct = target.hop.kind === 'flow' ? target.hop.flow : numericHop(target.hop.uri);
    if (direct !== undefined) {
      this.sendOnceTo(direct, { routed, target, arrival, source, stash, hash });
      return;
    }
    if (target.hop.kind === 'flow') return;
    const callId = routed.callId;
    this.resolveHops(target.hop.uri)
      .then((hops) => {
        const hop = hops[0];
        if (hop !== undefined) this.sendOnceTo(hop, { routed, target, arrival, source, stash, hash });
      })
      .catch((e: unknown) => this.deps.logger.debug({ err: e, callId }, 'stateless forward failed'));
  }

  private sendOnceTo(
    hop: Hop,
    m: {
      readonly routed: SipRequest;
      readonly target: ForwardTarget;
      readonly arrival: ProxyInterface;
      readonly source: Flow;
      readonly stash: readonly string[] | undefined;
      readonly hash: string;
    },
  ): void {
    const { routed, target, arrival, source, stash, hash } = m;
    const out = this.deps.interfaces().forDestination(hop.address);
    // §16.11: the same request (a retransmission) must get the same branch: derive it.
    const unique = `sl${fnv(routed.via[0]?.branch ?? routed.callId)}${fnv(routed.requestUri.raw)}`;
    const req = this.outgoing({
      routed,
      requestUri: target.requestUri,
      arrival,
      out,
      hop,
      source,
      recordRoute: false,
      branch: branchFor(hash, unique),
      ...(stash === undefined ? {} : { stash }),
    });
    const media = this.withMedia(req, arrival, out, routed.callId);
    if (typeof media === 'number') return;
    this.deps.stack
      .sendStateless(media, {
        protocol: hop.protocol,
        destination: { address: hop.address, port: hop.port },
        interfaceName: out.name,
        pinned: target.hop.kind === 'flow',
      })
      .catch((e: unknown) =>
        this.deps.logger.debug({ err: e, callId: routed.callId }, 'stateless forward failed'),
      );
  }

  private async resolveHops(uri: SipUri): Promise<Hop[]> {
    const r = await this.deps.resolve(uri);
    return r.ok ? r.targets.map(hopOf) : [];
  }

  /**
   * A response to a stateless forward: our Via off (the hidden ones back on), sent by the next Via.
   * Any other response matching no transaction is dropped (RFC 6026's update to RFC 3261 §16.7):
   * only a method the proxy forwards statelessly has such responses; else a forged top Via in our
   * format would have the agent relay a response to any address.
   */
  onStrayResponse(response: SipResponse, context: InboundContext): void {
    const top = response.via[0];
    const stash = top?.params.find((p) => p.name === 'swv')?.value;
    const stateless = this.deps.settings().statelessMethods.has(response.cseq.method);
    if (top === undefined || !isOwnBranch(top.branch) || !stateless) {
      this.counters.strayResponsesDropped++;
      return;
    }
    let vias: string[];
    if (stash !== undefined) {
      const text = this.deps.sealer.open(stash);
      if (text === undefined) {
        this.counters.strayResponsesDropped++;
        return;
      }
      vias = JSON.parse(text) as string[];
    } else {
      vias = response.via.slice(1).map((v) => v.raw);
    }
    if (vias.length === 0) {
      this.counters.strayResponsesDropped++;
      return;
    }
    let r = replaceHeaderValues(response, 'Via', vias);
    const interfaces = this.deps.interfaces();
    const arrival = interfaces.get(context.transport.interfaceName) ?? interfaces.all[0]!;
    if (arrival.role === 'outside') r = revealFromOutside(r, this.revealOptions());
    const next = r.via[0]!;
    const out = interfaces.forDestination(next.received ?? next.host);
    this.deps.stack.forwardResponse(r, out.name).catch((e: unknown) => {
      this.deps.logger.debug({ err: e, callId: r.callId }, 'stateless response forward failed');
    });
  }

  /** Active calls for the admin API. */
  callRows(limit = 1000): ReturnType<CallTable['rows']> {
    return this.calls.rows(this.deps.clock.now(), limit);
  }
}

/** Methods the proxy handles: every known one but REGISTER (the registrar's) and ACK (a stray). */
export const PROXIED_METHODS: readonly string[] = [...KNOWN_METHODS].filter(
  (m) => m !== 'REGISTER' && m !== 'ACK',
);

function newBranch(target: ForwardTarget): Branch {
  return {
    target,
    pinned: false,
    hops: [],
    hopIndex: 0,
    sent: undefined,
    sentTo: undefined,
    provisional: false,
    lastProvisionalAt: undefined,
    final: undefined,
    finalStatus: undefined,
    finalIsLocal: false,
    cancelPending: false,
    cancelled: false,
    timerC: undefined,
  };
}

/** Call-ID, From and To exactly as the upstream side sent them (the To tag from downstream). */
function identityEdits(r: SipResponse, original: SipRequest): HeaderSet[] {
  const set: HeaderSet[] = [];
  if (r.callId !== original.callId) set.push({ name: 'Call-ID', values: [original.callId] });
  if (r.from.raw !== original.from.raw) set.push({ name: 'From', values: [original.from.raw] });
  const tag = r.to.tag;
  const to =
    original.to.tag === undefined && tag !== undefined ? `${original.to.raw};tag=${tag}` : original.to.raw;
  if (r.to.raw !== to) set.push({ name: 'To', values: [to] });
  return set;
}

/** One edit per header: the last one given (so a later step overrides an earlier one). */
function lastWins(set: readonly HeaderSet[]): HeaderSet[] {
  const byKey = new Map<string, HeaderSet>();
  for (const e of set) {
    const key = headerKey(e.name);
    byKey.delete(key);
    byKey.set(key, e);
  }
  return [...byKey.values()];
}

/** §16.7 step 7: a 401/407 upstream carries every challenge of every branch's 401/407. */
function aggregateChallenges(best: SipResponse, finals: readonly SipResponse[]): SipResponse {
  const www: string[] = [];
  const proxy: string[] = [];
  for (const f of finals) {
    if (f.status !== 401 && f.status !== 407) continue;
    www.push(...getHeaders(f, 'WWW-Authenticate'));
    proxy.push(...getHeaders(f, 'Proxy-Authenticate'));
  }
  let out = best;
  if (www.length > 0) out = replaceHeaderValues(out, 'WWW-Authenticate', www);
  if (proxy.length > 0) out = replaceHeaderValues(out, 'Proxy-Authenticate', proxy);
  return out;
}

/** A URI whose host is an IP literal needs no DNS: its one hop (RFC 3263 §4.1/§4.2 defaults). */
function numericHop(uri: SipUri): Hop | undefined {
  const plan = planLookup(uri);
  return plan.kind === 'numeric' ? hopOf(plan.target) : undefined;
}

/** An RFC 3263 target as a hop. */
function hopOf(t: Target): Hop {
  return { protocol: t.transport, address: t.address, port: t.port };
}

/** The URI of a message's first Contact (the remote target it names), if any. */
function firstContact(m: SipMessage): string | undefined {
  const contacts = getContacts(m);
  return contacts.ok && !contacts.value.star ? contacts.value.contacts[0]?.uri.raw : undefined;
}

/**
 * The inbound side of a request the agent makes up as one party's (the BYEs of an expired
 * session): it "arrived" on the party's interface and transport; nothing is ever sent through it.
 */
function internalTransport(view: DialogView): Transport {
  return {
    protocol: view.source.protocol,
    interfaceName: view.interfaceName,
    local: { address: view.source.address, port: view.source.port },
    reliable: view.source.protocol !== 'udp',
    send: () => Promise.reject(new Error('internal origin: nothing is sent on it')),
    close: async () => {},
  };
}

/** A server transaction for a request the agent made up: its answer goes nowhere. */
function answerSink(request: SipRequest): ServerTransaction {
  let status = 0;
  let toTag: string | undefined;
  return {
    kind: 'server-non-invite',
    request,
    get state() {
      return status >= 200 ? ('completed' as const) : ('trying' as const);
    },
    get lastStatus() {
      return status;
    },
    get lastToTag() {
      return toTag;
    },
    respond(r: SipResponse) {
      status = r.status;
      toTag = r.to.tag;
    },
  };
}
