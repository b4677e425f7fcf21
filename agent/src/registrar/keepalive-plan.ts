import type { Uri } from '../sip/message.js';
import { normalizeHost } from '../transport/via-stamp.js';
import type { Binding } from './binding.js';

const DEFAULT_PORTS: Readonly<Record<string, number>> = { sip: 5060, sips: 5061 };

/**
 * Whether a binding needs far-end NAT keep-alives: its flow (where the REGISTER really came
 * from) differs from the host/port its Contact claims, so the phone sits behind a NAT we do not
 * control, whose mapping closes unless traffic keeps it open (RFC 5626 §3.5, RFC 3581 §1).
 * A contact we cannot read is treated as behind NAT.
 */
export function needsKeepAlive(binding: Binding, contactUri: Uri | undefined): boolean {
  if (contactUri === undefined || contactUri.kind !== 'sip') return true;
  const port = contactUri.port ?? DEFAULT_PORTS[contactUri.scheme] ?? 5060;
  return normalizeHost(contactUri.host) !== normalizeHost(binding.flow.address) || port !== binding.flow.port;
}

/** Per-binding keep-alive state kept by the runner. */
export interface PingState {
  /** Consecutive pings without an answer. */
  readonly failures: number;
  /** Sequence number of the ping in flight, if any. */
  readonly outstanding: number | undefined;
}

export type PingStep = 'ping' | 'drop';

/**
 * One keep-alive tick for one binding: a ping still unanswered from the previous tick counts as a
 * failure; after `maxFailures` in a row the binding is dropped, else a new ping goes out. Pure.
 */
export function nextPingStep(
  state: PingState,
  maxFailures: number,
): { readonly step: PingStep; readonly failures: number } {
  const failures = state.outstanding === undefined ? state.failures : state.failures + 1;
  return { step: failures >= maxFailures ? 'drop' : 'ping', failures };
}
