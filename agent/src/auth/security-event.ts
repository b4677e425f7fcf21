/** A security observation as data; the shell stamps an id and ships it (`SecurityEventRecordSchema`). */
export interface SecurityEvent {
  readonly event:
    | 'auth-failure'
    | 'source-blocked'
    | 'register-refused'
    | 'scanner-dropped'
    | 'malformed'
    | 'call-refused';
  /** Source IP (≤ 64 chars) the event is about. */
  readonly source: string;
  /** Short fixed-shape text (≤ 512 chars); never a password, nonce or response. */
  readonly detail: string;
  /** ms since the epoch. */
  readonly at: number;
}

/** Builds the telemetry record for `@sipwall/shared`'s `SecurityEventRecordSchema`. */
export function toSecurityRecord(e: SecurityEvent, id: string) {
  return {
    id,
    at: new Date(e.at).toISOString(),
    kind: 'security' as const,
    event: e.event,
    source: e.source.slice(0, 64),
    detail: e.detail.slice(0, 512),
  };
}
