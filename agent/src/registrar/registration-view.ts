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
  /** The phone's User-Agent, when its REGISTER carried one. */
  readonly userAgent: string | null;
}

function endpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function rowOf(b: Binding, mode: 'main' | 'passive', now: number): RegistrationRow {
  return {
    aor: b.aor,
    contact: b.contact,
    expiresSec: remainingSec(b, now),
    flow: { transport: b.flow.transport, source: endpoint(b.flow.address, b.flow.port) },
    instanceId: b.instanceId ?? null,
    regId: b.regId ?? null,
    mode,
    registeredAt: b.registeredAt,
    userAgent: b.userAgent ?? null,
  };
}

/** Renders bindings for the admin view, skipping any already past expiry (the sweeper lags). Pure. */
export function registrationRows(
  bindings: Iterable<Binding>,
  mode: 'main' | 'passive',
  now: number,
  limit: number,
): RegistrationRow[] {
  return registrationPage([{ bindings, mode }], now, { offset: 0, limit }).rows;
}

/**
 * One page of the admin view over several stores in order (main, then passive): the live
 * bindings from `offset`, at most `limit` of them, and how many live bindings there are in all.
 * One pass over every binding (O(n) per page, no copy), so `total` is exact. Pure.
 */
export function registrationPage(
  sources: ReadonlyArray<{ readonly bindings: Iterable<Binding>; readonly mode: 'main' | 'passive' }>,
  now: number,
  page: { readonly offset: number; readonly limit: number },
): { total: number; rows: RegistrationRow[] } {
  const rows: RegistrationRow[] = [];
  let index = 0;
  for (const { bindings, mode } of sources) {
    for (const b of bindings) {
      if (b.expiresAt <= now) continue;
      if (index >= page.offset && rows.length < page.limit) rows.push(rowOf(b, mode, now));
      index++;
    }
  }
  return { total: index, rows };
}
