/**
 * One registration binding (RFC 3261 §10): an address-of-record mapped to a contact, stored
 * compactly. No parsed message objects live here; the store may hold 100,000 of these.
 */

import { detachString } from '../util/detach-string.js';

export type FlowTransport = 'udp' | 'tcp' | 'tls' | 'ws';

/**
 * Where the REGISTER really came from (RFC 5626 §3: the "flow"). Requests for the AOR are sent
 * back over this transport to this address and port, which is how a phone behind a NAT the
 * agent does not control stays reachable.
 */
export interface Flow {
  readonly transport: FlowTransport;
  /** Source IP as seen by the socket (no brackets for IPv6). */
  readonly address: string;
  readonly port: number;
  /** Stream connection the REGISTER arrived on, when the transport is connection-oriented. */
  readonly connectionId?: number | undefined;
}

export interface Binding {
  /** Canonical AOR, `sip:user@domain` (see `aor.ts`). */
  readonly aor: string;
  /** Identity of the binding within the AOR: instance (+ reg-id) when given, else the canonical contact. */
  readonly key: string;
  /** Contact URI exactly as the phone wrote it. */
  readonly contact: string;
  /** q-value in thousandths (0…1000), `undefined` when the phone gave none (RFC 3261 §20.10). */
  readonly q: number | undefined;
  /** Absolute expiry, ms since the epoch. */
  readonly expiresAt: number;
  readonly callId: string;
  readonly cseq: number;
  /** RFC 5626 `+sip.instance` value without the surrounding quotes (`<urn:uuid:…>`). */
  readonly instanceId: string | undefined;
  /** RFC 5626 `reg-id`. */
  readonly regId: number | undefined;
  readonly flow: Flow;
  /** When this binding was first added (ms), kept across refreshes. */
  readonly registeredAt: number;
  /** The phone's `User-Agent` from its latest REGISTER (cut to `MAX_USER_AGENT` characters), for monitoring. */
  readonly userAgent?: string | undefined;
}

/** Longest User-Agent kept per binding: enough to tell models and firmware apart, bounded in memory. */
export const MAX_USER_AGENT = 128;

/** The first User-Agent value of a REGISTER, trimmed and bounded; `undefined` when absent or empty (pure). */
export function userAgentOf(values: readonly string[]): string | undefined {
  const v = values[0]?.trim().slice(0, MAX_USER_AGENT);
  return v === undefined || v === '' ? undefined : v;
}

/** Seconds left before `b` expires, rounded up; 0 once expired. */
export function remainingSec(b: Binding, now: number): number {
  return Math.max(0, Math.ceil((b.expiresAt - now) / 1000));
}

/** Renders the q-value from thousandths, e.g. 500 → `0.5` (RFC 3261 §20.10 qvalue). */
export function formatQ(q: number): string {
  if (q >= 1000) return '1';
  return `0.${String(q).padStart(3, '0')}`.replace(/0+$/, '').replace(/\.$/, '') || '0';
}

/** A Contact header value for a 200 OK: every binding with its `expires` (RFC 3261 §10.3 step 8). */
export function renderBindingContact(b: Binding, now: number): string {
  let s = `<${b.contact}>;expires=${remainingSec(b, now)}`;
  if (b.q !== undefined) s += `;q=${formatQ(b.q)}`;
  if (b.instanceId !== undefined) s += `;+sip.instance="${b.instanceId}"`;
  if (b.regId !== undefined) s += `;reg-id=${b.regId}`;
  return s;
}

/** A copy of `b` for long-term storage: detached strings, `aor` shared with `sameAor` when given. */
export function compactBinding(b: Binding, sameAor?: string): Binding {
  return {
    aor: sameAor ?? detachString(b.aor),
    key: detachString(b.key),
    contact: detachString(b.contact),
    q: b.q,
    expiresAt: b.expiresAt,
    callId: detachString(b.callId),
    cseq: b.cseq,
    instanceId: b.instanceId === undefined ? undefined : detachString(b.instanceId),
    regId: b.regId,
    flow: {
      transport: b.flow.transport,
      address: detachString(b.flow.address),
      port: b.flow.port,
      ...(b.flow.connectionId === undefined ? {} : { connectionId: b.flow.connectionId }),
    },
    registeredAt: b.registeredAt,
    userAgent: b.userAgent === undefined ? undefined : detachString(b.userAgent),
  };
}
