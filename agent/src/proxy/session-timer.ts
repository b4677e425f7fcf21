/**
 * RFC 4028 session timers, the proxy's part (§8): what to do with an INVITE or UPDATE passing
 * through (reject 422/400, raise Min-SE / Session-Expires, insert Session-Expires) and with its
 * 2xx (insert `Session-Expires;refresher=uac` + `Require: timer` when only the UAC supports
 * timers; the interval to track). Pure: messages in, decisions as data out. The proxy applies
 * the edits (`editHeaders` set entries), answers rejects (`createResponse`), keeps the request
 * info with its transaction and arms `SessionTimerTable` (`session-timer-table.ts`).
 */
import { err, ok, type Result } from '@sipwall/shared';
import { getHeaders } from '../sip/accessors.js';
import type { Param, SipMessage, SipRequest, SipResponse } from '../sip/message.js';
import { findParam, parseParams } from '../sip/params.js';
import { parseDeltaSeconds } from '../sip/scalars.js';
import type { HeaderSet } from './hiding.js';

/** RFC 4028 §4/§5: the session interval floor every element assumes when Min-SE is absent. */
export const DEFAULT_MIN_SE = 90;

/** The proxy's session-timer settings. */
export interface SessionTimerPolicy {
  /** Whether the proxy takes part: rejects, raises, inserts and tracks. Off = fully transparent. */
  readonly enabled: boolean;
  /** Our minimum session interval in seconds; at least 90 (RFC 4028 §5). */
  readonly minSe: number;
  /** Session-Expires inserted into requests that carry none (raised to the Min-SE floor if lower). */
  readonly defaultSessionExpires: number;
}

export type Refresher = 'uac' | 'uas';

/** A parsed `Session-Expires` value (RFC 4028 §4). */
export interface SessionExpires {
  readonly deltaSeconds: number;
  /** `undefined` when the `refresher` parameter is absent. */
  readonly refresher: Refresher | undefined;
  /** Every se-param as written (`refresher` included), for re-emitting after a raise. */
  readonly params: readonly Param[];
}

/** A parsed `Min-SE` value (RFC 4028 §5). */
export interface MinSe {
  readonly deltaSeconds: number;
  readonly params: readonly Param[];
}

/** A session-timer header that does not follow its grammar (or appears twice). */
export interface SessionTimerHeaderError {
  readonly header: 'Session-Expires' | 'Min-SE';
  readonly reason: string;
}

/** Delta-seconds then `;params`, LWS allowed around `;` (RFC 3261 §25.1 SEMI). */
function parseDeltaWithParams(value: string): { seconds: number; params: Param[] } | undefined {
  const semi = value.indexOf(';');
  const seconds = parseDeltaSeconds((semi < 0 ? value : value.slice(0, semi)).trim());
  if (seconds === undefined) return undefined;
  if (semi < 0) return { seconds, params: [] };
  const params = parseParams(value.slice(semi + 1));
  return params === undefined ? undefined : { seconds, params };
}

/** The single value of a non-list header: absent → undefined, twice → an error message. */
function singleValue(msg: SipMessage, name: string): Result<string | undefined, string> {
  const values = getHeaders(msg, name);
  if (values.length > 1) return err(`${name} appears more than once`);
  return ok(values[0]);
}

/**
 * `Session-Expires` (compact `x`) of a message: `ok(undefined)` when absent.
 * RFC 4028 §4: `delta-seconds *(SEMI se-params)`, `refresher-param = "refresher" EQUAL ("uas" / "uac")`
 * (case-insensitive, as ABNF literals are); anything else, or a second field, is an error.
 *
 * @example parseSessionExpires(invite) // ok({ deltaSeconds: 1800, refresher: 'uac', params: […] })
 */
export function parseSessionExpires(
  msg: SipMessage,
): Result<SessionExpires | undefined, SessionTimerHeaderError> {
  const header = 'Session-Expires';
  const single = singleValue(msg, header);
  if (!single.ok) return err({ header, reason: single.error });
  if (single.value === undefined) return ok(undefined);
  const parsed = parseDeltaWithParams(single.value);
  if (parsed === undefined) return err({ header, reason: `Malformed ${header}` });
  let refresher: Refresher | undefined;
  const param = findParam(parsed.params, 'refresher');
  if (param !== undefined) {
    const v = param.value?.toLowerCase();
    if (v !== 'uac' && v !== 'uas') return err({ header, reason: `Malformed ${header} refresher` });
    refresher = v;
  }
  return ok({ deltaSeconds: parsed.seconds, refresher, params: parsed.params });
}

/** `Min-SE` of a message (RFC 4028 §5: `delta-seconds *(SEMI generic-param)`); `ok(undefined)` when absent. */
export function parseMinSe(msg: SipMessage): Result<MinSe | undefined, SessionTimerHeaderError> {
  const header = 'Min-SE';
  const single = singleValue(msg, header);
  if (!single.ok) return err({ header, reason: single.error });
  if (single.value === undefined) return ok(undefined);
  const parsed = parseDeltaWithParams(single.value);
  if (parsed === undefined) return err({ header, reason: `Malformed ${header}` });
  return ok({ deltaSeconds: parsed.seconds, params: parsed.params });
}

/** Whether an option-tag list header (`Supported`/`k`, `Require`) names `tag` (case-insensitive, §19.2). */
export function hasOptionTag(msg: SipMessage, header: 'supported' | 'require', tag: string): boolean {
  const want = tag.toLowerCase();
  for (const value of getHeaders(msg, header)) {
    // getHeaders splits list headers; a value it could not split stays whole.
    for (const part of value.split(',')) if (part.trim().toLowerCase() === want) return true;
  }
  return false;
}

/** What the proxy must remember from a forwarded request to decide on its 2xx. */
export interface SessionTimerRequestInfo {
  /** Session-Expires as forwarded (after our edits); `undefined` when the request went without one. */
  readonly sessionExpires: number | undefined;
  /** The UAC sent `Supported: timer` (RFC 4028 §7.1). */
  readonly uacSupportsTimer: boolean;
}

export type SessionTimerRequestDecision =
  | {
      readonly kind: 'reject';
      /** 422 Session Interval Too Small (§6, §8.1) or 400 for a malformed header. */
      readonly status: 400 | 422;
      readonly reason: string;
      /** Extra header fields of the answer (`Min-SE` for 422, §8.1). */
      readonly headers: ReadonlyArray<readonly [string, string]>;
    }
  | {
      readonly kind: 'forward';
      /** Header replacements for `editHeaders({ set })`; empty when the request goes unchanged. */
      readonly edits: readonly HeaderSet[];
      /** Keep with the transaction and hand to `onResponse`; `undefined` = nothing to track. */
      readonly info: SessionTimerRequestInfo | undefined;
    };

const UNTOUCHED: SessionTimerRequestDecision = { kind: 'forward', edits: [], info: undefined };

function formatWithParams(seconds: number, params: readonly Param[]): string {
  let s = String(seconds);
  for (const p of params) s += p.value === undefined ? `;${p.name}` : `;${p.name}=${p.value}`;
  return s;
}

function checkPolicy(policy: SessionTimerPolicy): void {
  // A policy below the RFC floor is a configuration bug caught too late (STYLE §3.7 kind 3).
  if (!Number.isInteger(policy.minSe) || policy.minSe < DEFAULT_MIN_SE)
    throw new Error(`session timer: minSe must be an integer ≥ ${DEFAULT_MIN_SE}`);
  if (!Number.isInteger(policy.defaultSessionExpires) || policy.defaultSessionExpires < 1)
    throw new Error('session timer: defaultSessionExpires must be a positive integer');
}

/**
 * The proxy's decision on an INVITE or UPDATE it is about to forward, initial or in-dialog
 * (RFC 4028 §8.1: refreshes are processed exactly like initial requests). Other methods, and
 * every request while `policy.enabled` is false, go untouched with nothing to track.
 *
 * - A malformed or repeated Session-Expires / Min-SE → 400 (RFC 3261 §21.4.1: malformed syntax
 *   in a header the proxy must act on).
 * - Session-Expires below our `minSe` and `Supported: timer` → 422 with `Min-SE: <minSe>`
 *   (§8.1: the proxy MAY reject then, and MUST include its minimum in Min-SE).
 * - Session-Expires below our minimum (or below the request's own Min-SE) and no
 *   `Supported: timer` → not rejected (§8.1: that "would result in a call failure"): Min-SE
 *   raised to the floor, Session-Expires raised to equal it, its params (refresher) kept.
 * - No Session-Expires → one inserted, `max(defaultSessionExpires, floor)`, without a
 *   `refresher` (§8.1: a proxy MAY insert one, never below Min-SE, and MUST NOT add refresher).
 * - Otherwise Session-Expires is left as it is (§8.1: a proxy MUST NOT increase a value at or
 *   above Min-SE; it MAY reduce one, which this proxy does not do).
 * - In every forwarded case a Min-SE below ours (absent = 90) is raised to ours, so no element
 *   downstream lowers the interval below what we hold state for (§5, §8.1).
 *
 * @example
 * const d = onRequest(invite, { enabled: true, minSe: 90, defaultSessionExpires: 1800 });
 * if (d.kind === 'reject') respond(createResponse(invite, d.status, d.reason, { headers: d.headers }));
 * else forward(editHeaders(invite, { set: d.edits })), ptx.sessionTimer = d.info;
 */
export function onRequest(request: SipRequest, policy: SessionTimerPolicy): SessionTimerRequestDecision {
  checkPolicy(policy);
  if (!policy.enabled || (request.method !== 'INVITE' && request.method !== 'UPDATE')) return UNTOUCHED;
  const se = parseSessionExpires(request);
  if (!se.ok) return { kind: 'reject', status: 400, reason: se.error.reason, headers: [] };
  const minSe = parseMinSe(request);
  if (!minSe.ok) return { kind: 'reject', status: 400, reason: minSe.error.reason, headers: [] };
  const uacSupportsTimer = hasOptionTag(request, 'supported', 'timer');
  const requested = se.value;

  // §8.1: "If the request contains a Supported header field with a value 'timer', the proxy MAY
  // reject the INVITE request with a 422 … if the session interval … is smaller than the minimum
  // interval defined by the proxy's local policy", with Min-SE carrying that minimum.
  if (requested !== undefined && requested.deltaSeconds < policy.minSe && uacSupportsTimer) {
    return {
      kind: 'reject',
      status: 422,
      reason: 'Session Interval Too Small',
      headers: [['Min-SE', String(policy.minSe)]],
    };
  }

  // §5: an absent Min-SE means 90 s. The floor is the larger of the request's and ours.
  const theirs = minSe.value?.deltaSeconds ?? DEFAULT_MIN_SE;
  const floor = Math.max(theirs, policy.minSe);
  const edits: HeaderSet[] = [];
  if (theirs < floor) {
    // §8.1 (UAC without timer support): "the proxy SHOULD insert a Min-SE header field
    // containing its minimum interval … increase (but MUST NOT decrease)" an existing one.
    // Done for every forwarded request: it stops a downstream proxy or the UAS from choosing
    // an interval shorter than the one we keep state for.
    edits.push({ name: 'Min-SE', values: [formatWithParams(floor, minSe.value?.params ?? [])] });
  }

  let forwarded: number;
  if (requested === undefined) {
    // §8.1: a proxy MAY insert Session-Expires with any value not below Min-SE; it MUST NOT
    // include a refresher parameter (the UAS picks the refresher, §9).
    forwarded = Math.max(policy.defaultSessionExpires, floor);
    edits.push({ name: 'Session-Expires', values: [String(forwarded)] });
  } else if (requested.deltaSeconds < floor) {
    // §8.1: "The proxy MUST then increase the Session-Expires header field value to be equal to
    // the value in the Min-SE header field." The refresher parameter is not the proxy's to change.
    forwarded = floor;
    edits.push({ name: 'Session-Expires', values: [formatWithParams(floor, requested.params)] });
  } else {
    forwarded = requested.deltaSeconds;
  }
  return { kind: 'forward', edits, info: { sessionExpires: forwarded, uacSupportsTimer } };
}

export type SessionTimerResponseDecision =
  /** Not a 2xx to INVITE/UPDATE, or nothing was tracked for the request: leave the table alone. */
  | { readonly kind: 'ignore' }
  /**
   * A 2xx after which the session has no timer (§7.2: a 2xx without Session-Expires turns the
   * timer off, also mid-dialog): disarm. `reason` says why, for logs.
   */
  | { readonly kind: 'none'; readonly reason: 'no-timer' | 'malformed' }
  /** A 2xx establishing or refreshing a timer: apply `edits`, then arm for `intervalSec`. */
  | {
      readonly kind: 'track';
      readonly edits: readonly HeaderSet[];
      readonly intervalSec: number;
      /** `undefined` when the UAS named no refresher (a §9 fault); the interval holds anyway. */
      readonly refresher: Refresher | undefined;
    };

const IGNORE: SessionTimerResponseDecision = { kind: 'ignore' };

/**
 * The proxy's decision on a response to a request `onRequest` forwarded with `info`.
 *
 * - A 2xx with Session-Expires → track its interval and refresher, unchanged (§8.2: the proxy
 *   passes the UAS's choice upstream; it has already respected every Min-SE on the path).
 * - A 2xx without Session-Expires, the request forwarded with one, and `Supported: timer` from the
 *   UAC → the UAS does not do timers but the UAC does (§8.2): insert
 *   `Session-Expires: <forwarded>;refresher=uac` and add `timer` to Require, so the UAC refreshes
 *   (§7.2: Require: timer in a 2xx makes the UAC act on Session-Expires).
 * - Any other 2xx → no timer (§7.2, §8.2): `none`, the table entry goes.
 * - A malformed Session-Expires in a 2xx cannot be rejected and cannot be tracked: `none`.
 *
 * @example
 * const d = onResponse(ok200, ptx.sessionTimer);
 * if (d.kind === 'track') { response = editHeaders(response, { set: d.edits }); table.arm(key, d.intervalSec); }
 * else if (d.kind === 'none') table.disarm(key);
 */
export function onResponse(
  response: SipResponse,
  info: SessionTimerRequestInfo | undefined,
): SessionTimerResponseDecision {
  if (info === undefined) return IGNORE;
  if (response.status < 200 || response.status > 299) return IGNORE;
  const method = response.cseq.method;
  if (method !== 'INVITE' && method !== 'UPDATE') return IGNORE;
  const se = parseSessionExpires(response);
  if (!se.ok) return { kind: 'none', reason: 'malformed' };
  if (se.value !== undefined) {
    return { kind: 'track', edits: [], intervalSec: se.value.deltaSeconds, refresher: se.value.refresher };
  }
  if (info.sessionExpires === undefined || !info.uacSupportsTimer)
    return { kind: 'none', reason: 'no-timer' };
  // §8.2: the UAS ignored Session-Expires (it does not support timers) while the UAC supports
  // them: the proxy puts the interval it forwarded into the 2xx with refresher=uac and
  // Require: timer, so the UAC refreshes and the session still has a timer.
  const require = getHeaders(response, 'require');
  const edits: HeaderSet[] = [{ name: 'Session-Expires', values: [`${info.sessionExpires};refresher=uac`] }];
  if (!hasOptionTag(response, 'require', 'timer'))
    edits.push({ name: 'Require', values: [[...require, 'timer'].join(', ')] });
  return { kind: 'track', edits, intervalSec: info.sessionExpires, refresher: 'uac' };
}
