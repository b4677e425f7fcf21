import { type Binding, remainingSec } from './binding.js';

/** One row of `GET /registrations` on the admin port. */
export interface RegistrationRow {
  readonly aor: string;
  readonly contact: string;
  /** Seconds left before the binding expires. */
  readonly expiresSec: number;
  readonly flow: { readonly transport: Binding['flow']['transport']; readonly source: string };
  readonly instanceId: string | null;
  readonly regId: number | null;
  /** `main`: we are the registrar; `passive`: learned from an outside registrar's 200 OK. */
  readonly mode: 'main' | 'passive';
  /** ms since the epoch. */
  readonly registeredAt: number;
}

function endpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Renders bindings for the admin view, skipping any already past expiry (the sweeper lags). Pure. */
export function registrationRows(
  bindings: Iterable<Binding>,
  mode: 'main' | 'passive',
  now: number,
  limit: number,
): RegistrationRow[] {
  const rows: RegistrationRow[] = [];
  for (const b of bindings) {
    if (rows.length >= limit) break;
    if (b.expiresAt <= now) continue;
    rows.push({
      aor: b.aor,
      contact: b.contact,
      expiresSec: remainingSec(b, now),
      flow: { transport: b.flow.transport, source: endpoint(b.flow.address, b.flow.port) },
      instanceId: b.instanceId ?? null,
      regId: b.regId ?? null,
      mode,
      registeredAt: b.registeredAt,
    });
  }
  return rows;
}
