import type { MiddlewareHandler } from 'hono';
import type { ClientFacts } from './client.js';
import { trpcRefusal } from './trpc-error.js';

/** Methods that never change state (tRPC queries are GETs); everything else is checked. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** `Sec-Fetch-Site` values a same-origin request can carry (`none`: typed by the user). */
const SAME_SITE_FETCH = new Set(['same-origin', 'none']);

/**
 * The origin the dashboard is served from: `publicUrl` when configured, else the request's own
 * (scheme and Host as resolved through trusted proxies).
 */
export function expectedOrigin(publicUrl: URL | null, client: ClientFacts): string | null {
  if (publicUrl !== null) return publicUrl.origin;
  if (client.host === null) return null;
  try {
    return new URL(`${client.proto}://${client.host}`).origin;
  } catch {
    return null;
  }
}

/** `Origin` normalized like `URL.origin` (lowercase host, default port dropped); null for `null`/garbage. */
function originOf(header: string): string | null {
  try {
    const origin = new URL(header).origin;
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}

/**
 * CSRF guard for state-changing tRPC calls (mutations are POSTs).
 * 1. The body must be `application/json`: a cross-site page can only send JSON after a CORS
 *    preflight, which this server never grants; form encodings (`multipart/form-data`,
 *    `application/x-www-form-urlencoded`, `text/plain`) need none, so they are refused.
 * 2. A browser's `Origin` must equal the expected origin, and `Sec-Fetch-Site`, when sent, must say
 *    `same-origin`. A request with neither header comes from a non-browser client (scripts, curl),
 *    which carries no ambient cookie to abuse, and passes.
 * Refusals are 403 in tRPC's error envelope with `domainCode` `csrf-content-type` or `csrf-origin`.
 */
export function csrfGuard(opts: {
  publicUrl: URL | null;
  client: (c: Parameters<MiddlewareHandler>[0]) => ClientFacts;
}): MiddlewareHandler {
  return async (c, next) => {
    if (SAFE_METHODS.has(c.req.method)) return next();
    const mediaType = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (mediaType !== 'application/json')
      return trpcRefusal(
        'FORBIDDEN',
        'csrf-content-type',
        'mutations accept Content-Type: application/json only',
      );
    const origin = c.req.header('origin');
    const fetchSite = c.req.header('sec-fetch-site')?.toLowerCase();
    if (origin !== undefined) {
      const expected = expectedOrigin(opts.publicUrl, opts.client(c));
      if (expected === null || originOf(origin) !== expected)
        return trpcRefusal('FORBIDDEN', 'csrf-origin', `cross-origin request refused (Origin ${origin})`);
    }
    if (fetchSite !== undefined && !SAME_SITE_FETCH.has(fetchSite))
      return trpcRefusal(
        'FORBIDDEN',
        'csrf-origin',
        `cross-origin request refused (Sec-Fetch-Site ${fetchSite})`,
      );
    return next();
  };
}
