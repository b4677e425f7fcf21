import type { Myself } from '../core/myself.js';
import type { Binding } from '../registrar/binding.js';
import { getRoutes } from '../sip/accessors.js';
import { prependHeader, removeFirstHeaderValue, replaceHeaderValues, setRequestUri } from '../sip/edit.js';
import type { NameAddr, SipRequest, SipUri } from '../sip/message.js';
import type { TransportProtocol } from '../transport/types.js';
import { type Flow, insideRouteFrom, openContact } from './hiding.js';
import type { ProxyInterface } from './interfaces.js';
import type { Sealer } from './seal.js';

/** Where a branch goes: a known flow (binding, sealed contact) or a URI still to be resolved. */
export type Hop =
  | { readonly kind: 'flow'; readonly flow: Flow }
  | { readonly kind: 'uri'; readonly uri: SipUri };

export interface ForwardTarget {
  /** The Request-URI of the branch. */
  readonly requestUri: string;
  readonly hop: Hop;
  /** Why this target: for logs and the admin view. */
  readonly via: 'binding' | 'contact' | 'route' | 'outbound-proxy' | 'request-uri';
  /** The local user a binding belongs to (callee). */
  readonly aor?: string;
}

export type RouteDecision =
  | { readonly kind: 'reject'; readonly status: number; readonly reason: string }
  /** For the agent itself (no user part): the core answers it. */
  | { readonly kind: 'local' }
  | {
      readonly kind: 'forward';
      /** The request after route processing (own Routes popped, Request-URI restored). */
      readonly request: SipRequest;
      readonly targets: readonly ForwardTarget[];
      /** The target is a local user (so the call is "for the site"), for admission and monitoring. */
      readonly calleeAor: string | undefined;
    };

export interface RouteContext {
  readonly myself: Myself;
  readonly sealer: Sealer;
  readonly arrival: ProxyInterface;
  /** Live bindings of an AOR (`sip:user@domain`). */
  readonly locate: (aor: string) => readonly Binding[];
  /** Whether the AOR is a configured user (→ 480 when unregistered, else 404). */
  readonly isKnownUser: (aor: string) => boolean;
  /** `sip.proxy.outboundProxy` as a URI, if set. */
  readonly outboundProxy: SipUri | undefined;
}

const MAX_OWN_ROUTES = 4;

/**
 * RFC 3261 §16.4–16.5 as a pure decision: pops the agent's own Route entries (restoring the
 * inside route set sealed in them), undoes a strict router's rewrite, and picks the targets:
 * Route → its top entry; a contact the agent sealed → that inside flow; the site's domain or
 * the agent's address → the location service (every binding: parallel forking); any other
 * domain → the outbound proxy when configured, else the Request-URI itself (RFC 3263 later).
 * Requests from the outside for a foreign domain that start a dialog are refused (no open relay).
 */
export function decideRoute(input: SipRequest, ctx: RouteContext): RouteDecision {
  const popped = popOwnRoutes(input, ctx);
  if (popped === undefined) return reject(400, 'Bad Route');
  let request = popped.request;
  // A contact the agent sealed (an inside party, as the outside knows it) becomes real again,
  // whether or not a route set still leads there.
  const sealed = request.requestUri.kind === 'sip' ? openContact(request.requestUri, ctx.sealer) : undefined;
  if (sealed !== undefined) request = setRequestUri(request, sealed.uri);
  const routes = getRoutes(request);
  if (!routes.ok) return reject(400, 'Bad Route');
  const top = routes.value[0];
  // No open relay: from the outside, a request reaches only the site's users (location service)
  // or a party whose route or contact the agent itself sealed; never an address it names.
  const fromOutside = ctx.arrival.role === 'outside';
  if (top !== undefined) {
    if (top.uri.kind !== 'sip') return reject(416, 'Unsupported URI Scheme');
    if (fromOutside && !popped.sealed) return reject(403, 'Relaying Denied');
    return forward(request, [
      { requestUri: request.requestUri.raw, hop: { kind: 'uri', uri: top.uri }, via: 'route' },
    ]);
  }
  if (sealed !== undefined) {
    return forward(request, [
      { requestUri: sealed.uri, hop: { kind: 'flow', flow: sealed.flow }, via: 'contact' },
    ]);
  }
  const ruri = request.requestUri;
  if (ruri.kind !== 'sip') return reject(416, 'Unsupported URI Scheme');
  if (ctx.myself.isAddress(ruri.host) || ctx.myself.isDomain(ruri.host)) {
    if (hasParam(ruri, 'swc')) return reject(404, 'Not Found');
    if (ruri.user === undefined || ruri.user === '') return { kind: 'local' };
    return toLocation(request, ruri, ctx);
  }
  if (fromOutside) return reject(403, 'Relaying Denied');
  if (ctx.outboundProxy !== undefined) {
    return forward(request, [
      { requestUri: ruri.raw, hop: { kind: 'uri', uri: ctx.outboundProxy }, via: 'outbound-proxy' },
    ]);
  }
  return forward(request, [{ requestUri: ruri.raw, hop: { kind: 'uri', uri: ruri }, via: 'request-uri' }]);
}

function toLocation(request: SipRequest, ruri: SipUri, ctx: RouteContext): RouteDecision {
  const domain = ctx.myself.aorDomain(ruri.host) ?? ctx.myself.defaultDomain;
  const aor = `sip:${ruri.user}@${domain}`;
  const bindings = ctx.locate(aor);
  if (bindings.length === 0) {
    return ctx.isKnownUser(aor) ? reject(480, 'Temporarily Unavailable') : reject(404, 'Not Found');
  }
  // §16.6: q-value order (highest first) only orders parallel branches; all are tried at once.
  const ordered = [...bindings].sort((a, b) => (b.q ?? 1000) - (a.q ?? 1000));
  const targets = ordered.map(
    (b): ForwardTarget => ({
      requestUri: b.contact,
      hop: {
        kind: 'flow',
        flow: { protocol: flowProtocol(b.flow.transport), address: b.flow.address, port: b.flow.port },
      },
      via: 'binding',
      aor,
    }),
  );
  return { kind: 'forward', request, targets, calleeAor: aor };
}

function flowProtocol(t: Binding['flow']['transport']): TransportProtocol {
  return t === 'ws' ? 'tcp' : t;
}

function forward(request: SipRequest, targets: ForwardTarget[]): RouteDecision {
  return { kind: 'forward', request, targets, calleeAor: undefined };
}

function reject(status: number, reason: string): RouteDecision {
  return { kind: 'reject', status, reason };
}

function hasParam(uri: SipUri, name: string): boolean {
  return uri.params.some((p) => p.name.toLowerCase() === name);
}

function isOwnEntry(entry: NameAddr, ctx: RouteContext): entry is NameAddr & { uri: SipUri } {
  const uri = entry.uri;
  return uri.kind === 'sip' && uri.user === undefined && ctx.myself.isHost(uri.host, uri.port);
}

/**
 * §16.4: a Request-URI of ours carrying `lr` was put there by a strict router (the last Route
 * value is the real Request-URI); then every top Route entry that is ours is removed, and an
 * entry with a sealed inside route set is replaced by that route set.
 * Returns `undefined` when the Route header cannot be parsed.
 */
function popOwnRoutes(
  input: SipRequest,
  ctx: RouteContext,
): { readonly request: SipRequest; readonly sealed: boolean } | undefined {
  let request = input;
  let sealed = false;
  const ruri = request.requestUri;
  if (ruri.kind === 'sip' && ruri.user === undefined && hasParam(ruri, 'lr') && ctx.myself.isUri(ruri)) {
    const routes = getRoutes(request);
    if (!routes.ok) return undefined;
    const last = routes.value[routes.value.length - 1];
    if (last !== undefined) {
      const rest = routes.value.slice(0, -1).map((r) => r.raw);
      request = setRequestUri(replaceHeaderValues(request, 'Route', rest), last.uri.raw);
    }
  }
  for (let i = 0; i < MAX_OWN_ROUTES; i++) {
    const routes = getRoutes(request);
    if (!routes.ok) return undefined;
    const top = routes.value[0];
    if (top === undefined || !isOwnEntry(top, ctx)) return { request, sealed };
    request = removeFirstHeaderValue(request, 'Route');
    const inside = insideRouteFrom(top.uri, ctx.sealer);
    if (inside !== undefined) {
      sealed = true;
      for (const r of [...inside].reverse()) request = prependHeader(request, 'Route', r);
    }
  }
  return { request, sealed };
}
