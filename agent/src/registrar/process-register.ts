import { getContacts, getExpires, getHeaders } from '../sip/accessors.js';
import type { SipRequest } from '../sip/message.js';
import { canonicalAor } from './aor.js';
import { type Binding, type Flow, renderBindingContact, userAgentOf } from './binding.js';
import { type RequestedContact, readContact } from './register-contact.js';
import type { RegisterRejectReason } from './register-reject.js';
import { type RegisterTargetConfig, registerTarget } from './register-target.js';
import { type CidrSet, checkRegisterSource, type RegisterSourcePolicy } from './source-acl.js';

/** Registrar settings (`sip.registrar` in the agent config) plus what the site serves. */
export interface RegistrarConfig extends RegisterTargetConfig {
  readonly minExpiresSec: number;
  readonly maxExpiresSec: number;
  readonly defaultExpiresSec: number;
  readonly sourcePolicy: RegisterSourcePolicy;
}

/** Who sent the REGISTER, established by digest authentication before this runs. */
export interface RegisterCaller {
  /** Canonical AOR of the authenticated user (`userAor(username, realm)`). */
  readonly authenticatedAor: string;
  readonly maxBindings: number;
  /** The user's `allowFrom`, compiled. */
  readonly allowFrom: CidrSet;
}

export interface BindingUpsert {
  readonly binding: Binding;
  readonly action: 'added' | 'refreshed';
}

export interface RegisterOk {
  readonly kind: 'ok';
  readonly aor: string;
  readonly upserts: readonly BindingUpsert[];
  readonly removals: readonly Binding[];
  /** The 200 OK: every current binding with its expires (RFC 3261 §10.3 step 8). */
  readonly response: {
    readonly status: 200;
    readonly contacts: readonly string[];
    readonly headers: ReadonlyArray<readonly [string, string]>;
  };
}

export type RegisterResult = RegisterOk | { readonly kind: 'reject'; readonly reason: RegisterRejectReason };

const reject = (reason: RegisterRejectReason) => ({ kind: 'reject', reason }) as const;

/**
 * The AOR a REGISTER is about (its To URI, canonical; with `cfg`, an AOR at one of the agent's
 * addresses maps to the default domain), so the shell can fetch the current bindings before
 * calling {@link processRegister}.
 */
export function registerAor(req: SipRequest, cfg?: RegisterTargetConfig): string | undefined {
  if (cfg === undefined) return canonicalAor(req.to.uri);
  const target = registerTarget(req, cfg);
  return typeof target === 'string' ? undefined : target.aor;
}

/** A Contact list (or `*`) with the wildcard-misuse cases told apart (RFC 3261 §10.3 step 6). */
type ContactsRead =
  | { readonly kind: 'query' }
  | { readonly kind: 'wildcard' }
  | { readonly kind: 'list'; readonly contacts: readonly RequestedContact[] };

function readContacts(req: SipRequest): ContactsRead | RegisterRejectReason {
  const parsed = getContacts(req);
  if (!parsed.ok) {
    const raw = getHeaders(req, 'contact');
    return raw.some((v) => v.trim() === '*') ? 'wildcard-with-other-contacts' : 'bad-contact';
  }
  if (parsed.value.star) return { kind: 'wildcard' };
  if (parsed.value.contacts.length === 0) return { kind: 'query' };
  // Same binding listed twice in one request: the last one wins.
  const byKey = new Map<string, RequestedContact>();
  for (const na of parsed.value.contacts.slice(0, 64)) {
    const c = readContact(na);
    if (!c.ok) return c.error;
    byKey.delete(c.value.key);
    byKey.set(c.value.key, c.value);
  }
  if (parsed.value.contacts.length > 64) return 'bad-contact';
  return { kind: 'list', contacts: [...byKey.values()] };
}

/**
 * RFC 3261 §10.3 step 7: an existing binding may be changed only by a different Call-ID, or by
 * the same Call-ID with a higher CSeq; otherwise the request is out of order and fails.
 */
function mayUpdate(existing: Binding, req: SipRequest): boolean {
  return existing.callId !== req.callId || req.cseq.seq > existing.cseq;
}

/**
 * The expiration interval for one contact (RFC 3261 §10.3 step 7): the contact's `expires`
 * parameter, else the Expires header, else the local default; clamped down to the maximum.
 * `'too-brief'` for a non-zero interval below the minimum (→ 423 with Min-Expires).
 */
function chooseExpires(
  c: RequestedContact,
  header: number | undefined,
  cfg: RegistrarConfig,
): number | 'too-brief' {
  const requested = c.expiresSec ?? header ?? cfg.defaultExpiresSec;
  if (requested === 0) return 0;
  if (requested < cfg.minExpiresSec) return 'too-brief';
  return Math.min(requested, cfg.maxExpiresSec);
}

function okResult(
  aor: string,
  next: ReadonlyMap<string, Binding>,
  upserts: BindingUpsert[],
  removals: Binding[],
  now: number,
  extraHeaders: ReadonlyArray<readonly [string, string]> = [],
): RegisterOk {
  const contacts = [...next.values()].map((b) => renderBindingContact(b, now));
  // §10.3 step 8: the response SHOULD include a Date header.
  const headers: Array<readonly [string, string]> = [['Date', httpDate(now)], ...extraHeaders];
  return { kind: 'ok', aor, upserts, removals, response: { status: 200, contacts, headers } };
}

/** RFC 7231 IMF-fixdate of `ms`; the text changes once a second, so the last one is reused. */
let dateSecond = Number.NaN;
let dateText = '';
function httpDate(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}

function supportsOutbound(req: SipRequest): boolean {
  return getHeaders(req, 'supported').some((v) => v.trim().toLowerCase() === 'outbound');
}

/**
 * Processes a REGISTER against the AOR's current bindings (RFC 3261 §10.3). Pure: returns the
 * binding changes and the response as data; the shell commits them all or none (§10.3 step 8).
 *
 * Step 2 (Require) is the SIP core's job; step 3 (authentication) has already happened: `caller`
 * is the digest-authenticated user.
 */
export function processRegister(
  req: SipRequest,
  currentBindings: readonly Binding[],
  now: number,
  cfg: RegistrarConfig,
  flow: Flow,
  caller: RegisterCaller,
): RegisterResult {
  // Steps 1 and 5: the Request-URI names us (a domain or the agent's own address) and To is an
  // AOR of a domain we serve.
  const target = registerTarget(req, cfg);
  if (typeof target === 'string') return reject(target);
  const aor = target.aor;
  if (aor === undefined) return reject('unknown-aor');
  // Step 4: only the AOR's own user may change it (no third-party registration).
  if (aor !== caller.authenticatedAor) return reject('not-authorized-for-aor');
  if (checkRegisterSource(flow.address, cfg.sourcePolicy, caller.allowFrom) === 'denied') {
    return reject('forbidden-source');
  }

  const contacts = readContacts(req);
  if (typeof contacts === 'string') return reject(contacts);
  const expiresHeader = getExpires(req);
  if (!expiresHeader.ok) return reject('bad-expires');

  // Bindings already past their expiry are treated as gone (the sweeper reports them).
  const live = new Map<string, Binding>();
  for (const b of currentBindings) if (b.expiresAt > now && b.aor === aor) live.set(b.key, b);

  if (contacts.kind === 'query') return okResult(aor, live, [], [], now);

  if (contacts.kind === 'wildcard') {
    // Step 6: "*" only with Expires: 0.
    if (expiresHeader.value !== 0) return reject('wildcard-nonzero-expires');
    for (const b of live.values()) if (!mayUpdate(b, req)) return reject('out-of-order');
    return okResult(aor, new Map(), [], [...live.values()], now);
  }

  const next = new Map(live);
  const upserts: BindingUpsert[] = [];
  const removals: Binding[] = [];
  let outbound = false;
  for (const c of contacts.contacts) {
    const expires = chooseExpires(c, expiresHeader.value, cfg);
    if (expires === 'too-brief') return reject('interval-too-brief');
    const existing = live.get(c.key);
    if (existing !== undefined && !mayUpdate(existing, req)) return reject('out-of-order');
    if (expires === 0) {
      if (existing !== undefined) {
        next.delete(c.key);
        removals.push(existing);
      }
      continue;
    }
    const binding: Binding = {
      aor,
      key: c.key,
      contact: c.uri.raw,
      q: c.q,
      expiresAt: now + expires * 1000,
      callId: req.callId,
      cseq: req.cseq.seq,
      instanceId: c.instanceId,
      regId: c.regId,
      flow,
      registeredAt: existing?.registeredAt ?? now,
      userAgent: userAgentOf(getHeaders(req, 'user-agent')),
    };
    next.delete(c.key);
    next.set(c.key, binding);
    upserts.push({ binding, action: existing === undefined ? 'added' : 'refreshed' });
    if (c.regId !== undefined) outbound = true;
  }
  // Only a request that grows the set is refused, so lowering maxBindings never blocks refreshes.
  if (next.size > caller.maxBindings && next.size > live.size) return reject('too-many-bindings');
  // RFC 5626 §6: a registrar that accepted a flow-based binding (instance + reg-id) tells the UA
  // with Require: outbound, when the UA said it supports outbound.
  const extra: Array<readonly [string, string]> =
    outbound && supportsOutbound(req) ? [['Require', 'outbound']] : [];
  return okResult(aor, next, upserts, removals, now, extra);
}
