import type { Binding } from './binding.js';
import { remainingSec } from './binding.js';
import type { RegisterOk } from './process-register.js';

export type RegistrationAction = 'added' | 'refreshed' | 'removed' | 'expired';

/** A registration event as data, shaped for `RegistrationRecordSchema` once the shell adds an id. */
export interface RegistrationEvent {
  readonly aor: string;
  readonly contact: string;
  readonly action: RegistrationAction;
  /** Seconds the binding still has (0 for removed/expired). */
  readonly expiresSec: number;
  /** Source address the binding's flow uses. */
  readonly source: string;
  readonly transport: Binding['flow']['transport'];
  /** ms since the epoch. */
  readonly at: number;
}

export function registrationEvent(b: Binding, action: RegistrationAction, now: number): RegistrationEvent {
  return {
    aor: b.aor,
    contact: b.contact,
    action,
    expiresSec: action === 'removed' || action === 'expired' ? 0 : remainingSec(b, now),
    source: b.flow.address,
    transport: b.flow.transport,
    at: now,
  };
}

/** Events for a committed REGISTER: removals first, then additions and refreshes. */
export function eventsForRegister(result: RegisterOk, now: number): RegistrationEvent[] {
  return [
    ...result.removals.map((b) => registrationEvent(b, 'removed', now)),
    ...result.upserts.map((u) => registrationEvent(u.binding, u.action, now)),
  ];
}

/** Events for bindings the sweeper expired. */
export function eventsForExpired(expired: readonly Binding[], now: number): RegistrationEvent[] {
  return expired.map((b) => registrationEvent(b, 'expired', now));
}

/** The telemetry record (`RegistrationRecordSchema` in `@sipwall/shared`). Field lengths are clipped to the schema. */
export function toRegistrationRecord(e: RegistrationEvent, id: string) {
  return {
    id,
    at: new Date(e.at).toISOString(),
    kind: 'registration' as const,
    aor: e.aor.slice(0, 512),
    contact: e.contact.slice(0, 1024),
    action: e.action,
    expiresSec: e.expiresSec,
    source: e.source.slice(0, 64),
    transport: e.transport,
  };
}
