import { getContacts, getRecordRoutes } from '../sip/accessors.js';
import { editHeaders } from '../sip/edit.js';
import type { NameAddr, SipMessage, SipUri } from '../sip/message.js';
import { formatParams } from '../sip/params.js';
import type { TransportProtocol } from '../transport/types.js';
import { normalizeHost } from '../transport/via-stamp.js';
import type { InterfaceMap, ProxyInterface } from './interfaces.js';
import type { Sealer } from './seal.js';

/**
 * Topology hiding and NAT rewriting between the inside and the outside (pure functions over
 * messages). Everything the outside must not learn is either replaced by the agent's outside
 * address or sealed into the agent's own parameters, so a message coming back restores it
 * without any per-dialog state:
 * - Contact of an inside party → `sip:user@OUTSIDE:port;swc=<sealed contact + flow>`;
 * - the inside part of a Record-Route list → sealed into the agent's outside entry (`swr`);
 * - a Call-ID holding an inside address → `sw1<sealed Call-ID>`; and the other way, an outside
 *   party's Call-ID that holds an address looking like an inside one (the caller's own LAN may use
 *   the same private range) is sealed as `sw0<sealed Call-ID>` on its way in and opened on its way
 *   out, so the outside party always gets back the Call-ID it chose;
 * - any other inside IPv4 literal in a header → the outside address; configured headers stripped.
 */

/** Where an inside party really is: the flow its message arrived on. */
export interface Flow {
  readonly protocol: TransportProtocol;
  readonly address: string;
  readonly port: number;
}

/** A contact sealed by `hideContact`. */
export interface SealedContact {
  readonly uri: string;
  readonly flow: Flow;
}

/** Record-Route entries hidden behind the agent's outside entry: `after` it (request) or `before` it. */
interface HiddenRoutes {
  readonly a?: readonly string[];
  readonly b?: readonly string[];
}

export const CONTACT_PARAM = 'swc';
export const ROUTE_PARAM = 'swr';
const CALL_ID_PREFIX = 'sw1';
/** An outside party's Call-ID, sealed on its way in because it looked like an inside one. */
const OUTSIDE_CALL_ID_PREFIX = 'sw0';

/**
 * The call's one Call-ID across both legs: a Call-ID sealed by `hideForOutside` (`sw1…`) or by
 * `restoreFromOutside` (`sw0…`) opened, any other as it is (for the per-call trace).
 */
export function realCallId(callId: string, sealer: Sealer): string {
  if (!callId.startsWith(CALL_ID_PREFIX) && !callId.startsWith(OUTSIDE_CALL_ID_PREFIX)) return callId;
  return sealer.open(callId.slice(CALL_ID_PREFIX.length)) ?? callId;
}

/** Headers the hiding functions handle themselves (never scrubbed generically). */
const OWN_HEADERS = new Set([
  'via',
  'record-route',
  'route',
  'contact',
  'call-id',
  'cseq',
  'content-length',
  'max-forwards',
  'content-type',
]);

const IPV4 = /(?<![0-9.])(?:\d{1,3}\.){3}\d{1,3}(?![0-9])/g;

export interface HideOptions {
  readonly interfaces: InterfaceMap;
  readonly sealer: Sealer;
  /** The outside interface the message leaves through. */
  readonly out: ProxyInterface;
  /** Transport the outside uses to reach the agent (for contact URIs). */
  readonly protocol: TransportProtocol;
  /** Lower-case header names to remove; a trailing `*` matches a prefix. */
  readonly strip: readonly string[];
  /** Whether to hide the topology (else only Contact is rewritten: NAT traversal needs that). */
  readonly hide: boolean;
}

/** The URI the agent advertises for itself on an interface (`sip:host:port;transport=…`). */
export function selfUri(iface: ProxyInterface, protocol: TransportProtocol, user?: string): string {
  const port = iface.ports.get(protocol) ?? iface.ports.get('udp') ?? 5060;
  const host = iface.advertised.includes(':') ? `[${iface.advertised}]` : iface.advertised;
  const transport = protocol === 'udp' ? '' : `;transport=${protocol}`;
  return `sip:${user === undefined ? '' : `${user}@`}${host}:${port}${transport}`;
}

/** One header's new values (see `editHeaders`); later edits of the same header win. */
export type HeaderSet = { readonly name: string; readonly values: readonly string[] };

/** Rewrites a message (request or response) that crosses from the inside to the outside. */
export function hideForOutside<M extends SipMessage>(msg: M, source: Flow, opts: HideOptions): M {
  const set = hideEdits(msg, source, opts);
  return set.length === 0 ? msg : editHeaders(msg, { set });
}

/**
 * The edits `hideForOutside` makes, for a caller that has edits of its own to apply in the same
 * pass. `recordRoute`: the Record-Route values as the message will carry them (the caller may
 * have added the agent's own entries); default the message's own.
 */
export function hideEdits(
  msg: SipMessage,
  source: Flow,
  opts: HideOptions,
  recordRoute?: readonly NameAddr[],
): HeaderSet[] {
  const set: HeaderSet[] = [];
  const contacts = contactEdit(
    msg,
    source,
    opts,
    (host) => opts.interfaces.forDestination(host).role === 'inside',
  );
  if (contacts !== undefined) set.push(contacts);
  // An outside Call-ID sealed on its way in goes back out as it came, hiding on or off.
  const restored = restoreOutsideCallId(msg, opts.sealer);
  if (restored !== undefined) set.push(restored);
  if (!opts.hide) return set;
  const rr = hideRecordRoute(recordRoute ?? recordRoutesOf(msg), opts);
  if (rr !== undefined) set.push(rr);
  const callId = restored === undefined ? maskCallId(msg, opts) : undefined;
  if (callId !== undefined) set.push(callId);
  set.push(...scrubAndStrip(msg, opts));
  return set;
}

/** What `revealFromOutside` needs: the sealer, the interfaces, and whether hiding is on. */
export type RevealOptions = Pick<HideOptions, 'sealer' | 'interfaces' | 'hide'>;

/**
 * Undoes `hideForOutside` on a message coming in from the outside (Record-Route, Call-ID), and
 * seals an outside Call-ID that would look like an inside one (see the top of this file).
 */
export function revealFromOutside<M extends SipMessage>(msg: M, opts: RevealOptions): M {
  const set = revealEdits(msg, opts);
  return set.length === 0 ? msg : editHeaders(msg, { set });
}

/** The edits `revealFromOutside` makes. */
export function revealEdits(msg: SipMessage, opts: RevealOptions): HeaderSet[] {
  const set: HeaderSet[] = [];
  if (msg.callId.startsWith(CALL_ID_PREFIX)) {
    const real = opts.sealer.open(msg.callId.slice(CALL_ID_PREFIX.length));
    if (real !== undefined) set.push({ name: 'Call-ID', values: [real] });
  } else if (opts.hide && hasInsideAddress(msg.callId, opts)) {
    set.push({ name: 'Call-ID', values: [OUTSIDE_CALL_ID_PREFIX + opts.sealer.seal(msg.callId)] });
  }
  const rr = revealRecordRoute(msg, opts.sealer);
  if (rr !== undefined) set.push(rr);
  return set;
}

function recordRoutesOf(msg: SipMessage): readonly NameAddr[] {
  const parsed = getRecordRoutes(msg);
  return parsed.ok ? parsed.value : [];
}

/**
 * NAT traversal for parties on the outside (remote phones, providers behind NAT): a message
 * that crosses from the outside to the inside has its Contact replaced by the agent's inside
 * address with the real contact and the flow it came over sealed in it, so in-dialog requests
 * from the inside go back over that flow (the connection or NAT binding that works), not to an
 * address the outside party may not be reachable at.
 */
export function outsideContactEdit(
  msg: SipMessage,
  source: Flow,
  opts: Pick<HideOptions, 'sealer' | 'out' | 'protocol'>,
): HeaderSet | undefined {
  return contactEdit(msg, source, opts, () => true);
}

function contactEdit(
  msg: SipMessage,
  source: Flow,
  opts: Pick<HideOptions, 'sealer' | 'out' | 'protocol'>,
  which: (host: string) => boolean,
): HeaderSet | undefined {
  const parsed = getContacts(msg);
  if (!parsed.ok || parsed.value.star || parsed.value.contacts.length === 0) return undefined;
  let changed = false;
  const values = parsed.value.contacts.map((c) => {
    if (c.uri.kind !== 'sip' || !which(c.uri.host)) return c.raw;
    changed = true;
    const sealed = opts.sealer.seal(
      JSON.stringify([c.uri.raw, source.protocol, source.address, source.port]),
    );
    const user = c.uri.userRaw;
    const uri = `${selfUri(opts.out, opts.protocol, user)};${CONTACT_PARAM}=${sealed}`;
    const name = c.displayName === undefined ? '' : `"${c.displayName.replace(/["\\]/g, '\\$&')}" `;
    return `${name}<${uri}>${formatParams(c.params)}`;
  });
  return changed ? { name: 'Contact', values } : undefined;
}

/** The contact and flow sealed in a URI of ours (`swc`), or `undefined`. */
export function openContact(uri: SipUri, sealer: Sealer): SealedContact | undefined {
  const token = uri.params.find((p) => p.name.toLowerCase() === CONTACT_PARAM)?.value;
  if (token === undefined) return undefined;
  const text = sealer.open(token);
  if (text === undefined) return undefined;
  try {
    const [raw, protocol, address, port] = JSON.parse(text) as [string, TransportProtocol, string, number];
    return { uri: raw, flow: { protocol, address, port } };
  } catch {
    return undefined;
  }
}

function isOurs(entry: NameAddr, opts: Pick<HideOptions, 'interfaces'>, role: 'inside' | 'outside'): boolean {
  const uri = entry.uri;
  if (uri.kind !== 'sip' || uri.user !== undefined) return false;
  const host = normalizeHost(uri.host);
  const iface = opts.interfaces.all.find((i) => i.advertised === host || i.address === host);
  return iface !== undefined && iface.role === role;
}

/**
 * The inside part of the Record-Route list goes into the agent's outside entry: the entries
 * after it when the agent's inside entry follows it (a request from the inside), or before it
 * when the inside entry precedes it (a response to a request that went inside).
 */
function hideRecordRoute(list: readonly NameAddr[], opts: HideOptions): HeaderSet | undefined {
  if (list.length === 0) return undefined;
  const o = list.findIndex((e) => isOurs(e, opts, 'outside'));
  let kept: string[];
  if (o < 0) {
    // No entry of ours facing out: nothing on this list may leave (inside proxies only).
    kept = list.filter((e) => !isInsideEntry(e, opts)).map((e) => e.raw);
  } else {
    const after = list[o + 1];
    const before = list[o - 1];
    const self = list[o]!;
    if (after !== undefined && isOurs(after, opts, 'inside')) {
      const hidden: HiddenRoutes = { a: list.slice(o + 1).map((e) => e.raw) };
      kept = [...list.slice(0, o).map((e) => e.raw), withRouteToken(self, hidden, opts.sealer)];
    } else if (before !== undefined && isOurs(before, opts, 'inside')) {
      const hidden: HiddenRoutes = { b: list.slice(0, o).map((e) => e.raw) };
      kept = [withRouteToken(self, hidden, opts.sealer), ...list.slice(o + 1).map((e) => e.raw)];
    } else {
      kept = list.filter((e) => !isInsideEntry(e, opts)).map((e) => e.raw);
    }
  }
  return { name: 'Record-Route', values: kept };
}

function isInsideEntry(e: NameAddr, opts: Pick<HideOptions, 'interfaces'>): boolean {
  return e.uri.kind === 'sip' && opts.interfaces.forDestination(e.uri.host).role === 'inside';
}

function withRouteToken(entry: NameAddr, hidden: HiddenRoutes, sealer: Sealer): string {
  const token = sealer.seal(JSON.stringify(hidden));
  // The token is a URI parameter: it comes back in Route headers built from this entry.
  const uri = `${entry.uri.raw};${ROUTE_PARAM}=${token}`;
  return `<${uri}>${formatParams(entry.params)}`;
}

/** Restores every Record-Route entry of ours that carries a sealed inside part. */
function revealRecordRoute(msg: SipMessage, sealer: Sealer): HeaderSet | undefined {
  const parsed = getRecordRoutes(msg);
  if (!parsed.ok || parsed.value.length === 0) return undefined;
  let changed = false;
  const out: string[] = [];
  for (const e of parsed.value) {
    const hidden = e.uri.kind === 'sip' ? openRoutes(e.uri, sealer) : undefined;
    if (hidden === undefined) {
      out.push(e.raw);
      continue;
    }
    changed = true;
    const plain = `<${stripParam(e.uri.raw, ROUTE_PARAM)}>${formatParams(e.params)}`;
    out.push(...(hidden.b ?? []), plain, ...(hidden.a ?? []));
  }
  return changed ? { name: 'Record-Route', values: out } : undefined;
}

/**
 * For a Route entry of ours with a sealed inside part: the Route values that lead from the agent
 * to the inside party, in order (the entries after it as they were, or those before it reversed).
 */
export function insideRouteFrom(uri: SipUri, sealer: Sealer): string[] | undefined {
  const hidden = openRoutes(uri, sealer);
  if (hidden === undefined) return undefined;
  if (hidden.a !== undefined) return [...hidden.a];
  return [...(hidden.b ?? [])].reverse();
}

function openRoutes(uri: SipUri, sealer: Sealer): HiddenRoutes | undefined {
  const token = uri.params.find((p) => p.name.toLowerCase() === ROUTE_PARAM)?.value;
  if (token === undefined) return undefined;
  const text = sealer.open(token);
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as HiddenRoutes;
    return typeof v === 'object' && v !== null ? v : undefined;
  } catch {
    return undefined;
  }
}

function stripParam(uriRaw: string, name: string): string {
  return uriRaw.replace(new RegExp(`;${name}=[A-Za-z0-9_-]*`, 'i'), '');
}

function restoreOutsideCallId(msg: SipMessage, sealer: Sealer): HeaderSet | undefined {
  if (!msg.callId.startsWith(OUTSIDE_CALL_ID_PREFIX)) return undefined;
  const real = sealer.open(msg.callId.slice(OUTSIDE_CALL_ID_PREFIX.length));
  return real === undefined ? undefined : { name: 'Call-ID', values: [real] };
}

function maskCallId(msg: SipMessage, opts: HideOptions): HeaderSet | undefined {
  if (!hasInsideAddress(msg.callId, opts)) return undefined;
  return { name: 'Call-ID', values: [CALL_ID_PREFIX + opts.sealer.seal(msg.callId)] };
}

function hasInsideAddress(text: string, opts: Pick<HideOptions, 'interfaces'>): boolean {
  for (const m of text.matchAll(IPV4)) if (opts.interfaces.isInsideAddress(m[0])) return true;
  return false;
}

function stripped(key: string, strip: readonly string[]): boolean {
  for (const s of strip) {
    if (s.endsWith('*') ? key.startsWith(s.slice(0, -1)) : key === s) return true;
  }
  return false;
}

/** Removes configured headers and replaces inside IPv4 literals in every other header. */
function scrubAndStrip(msg: SipMessage, opts: HideOptions): HeaderSet[] {
  const byKey = new Map<string, { name: string; values: string[]; dirty: boolean; drop: boolean }>();
  for (const h of msg.headers) {
    if (OWN_HEADERS.has(h.key)) continue;
    // From and To cannot go (a configured `From` in stripHeaders is ignored).
    const drop = h.key !== 'from' && h.key !== 'to' && stripped(h.key, opts.strip);
    const dirty = !drop && hasInsideAddress(h.value, opts);
    let e = byKey.get(h.key);
    if (e === undefined) {
      e = { name: h.name, values: [], dirty: false, drop };
      byKey.set(h.key, e);
    }
    e.dirty ||= dirty;
    e.values.push(h.value);
  }
  const set: HeaderSet[] = [];
  const scrub = (v: string) =>
    v.replace(IPV4, (ip) => (opts.interfaces.isInsideAddress(ip) ? opts.out.advertised : ip));
  for (const e of byKey.values()) {
    if (e.drop) set.push({ name: e.name, values: [] });
    else if (e.dirty) set.push({ name: e.name, values: e.values.map(scrub) });
  }
  return set;
}
