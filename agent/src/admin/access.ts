import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { isLoopbackAddress } from '@sipwall/shared';
import type { MiddlewareHandler } from 'hono';
import { AgentError } from '../errors.js';

/** Where the admin server listens, as bound (read per request: config port 0 is known only after listen). */
export interface AdminBound {
  readonly address: string;
  readonly port: number;
}

/** Who may use the admin API. */
export interface AdminAccess {
  /** The listening address and port. */
  readonly bound: () => AdminBound;
  /** Bearer token every request must carry (`admin.token` / `admin.tokenFile`); absent: none. */
  readonly token?: string | undefined;
}

const isWildcard = (address: string) => address === '0.0.0.0' || address === '::';

/** Splits a `Host` value into a lower-cased name (IPv6 without brackets) and a port (default 80). */
function parseHost(host: string): { readonly name: string; readonly port: number } | undefined {
  const h = host.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(h);
  if (m === null) return undefined;
  const name = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  return { name, port: m[2] === undefined ? 80 : Number(m[2]) };
}

/**
 * Whether a `Host` header names this server in a way DNS rebinding cannot fake: `localhost`, or
 * an IP literal — the bound address, a loopback address when bound to loopback, any address
 * when bound to every interface — always with the bound port. A page on `attacker.example` whose
 * name was re-pointed at us sends `Host: attacker.example` and is refused, so it cannot read
 * the API even from the operator's own browser.
 */
export function hostAllowed(host: string | undefined, bound: AdminBound): boolean {
  if (host === undefined) return false;
  const parsed = parseHost(host);
  if (parsed === undefined || parsed.port !== bound.port) return false;
  const { name } = parsed;
  if (name === 'localhost') return true;
  if (isIP(name) === 0) return false;
  if (isWildcard(bound.address)) return true;
  if (name === bound.address.toLowerCase()) return true;
  return isLoopbackAddress(bound.address) && isLoopbackAddress(name);
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Whether an `Authorization` header carries the bearer token (compared in constant time). */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
  return m !== null && timingSafeEqual(digest(m[1]!), digest(token));
}

/**
 * The admin API's guard, first on every route: a foreign `Host` → 421 (RFC 9110 §15.5.20:
 * "not able to produce a response" for that authority), then a missing or wrong token → 401
 * with `WWW-Authenticate: Bearer` (RFC 6750 §3).
 */
export function adminGuard(access: AdminAccess): MiddlewareHandler {
  return async (c, next) => {
    if (!hostAllowed(c.req.header('host'), access.bound())) {
      return c.json({ error: 'misdirected request: unknown Host' }, 421);
    }
    if (access.token !== undefined && !bearerMatches(c.req.header('authorization'), access.token)) {
      return c.json({ error: 'unauthorized' }, 401, { 'WWW-Authenticate': 'Bearer realm="sipwall-agent"' });
    }
    await next();
  };
}

/**
 * The admin token from `admin.token`, or the first line of `admin.tokenFile` (relative to the
 * config file's folder).
 * @throws {AgentError} `AGENT_ERR_ADMIN_TOKEN` when the file cannot be read or holds under 16 characters.
 */
export async function readAdminToken(
  admin: { readonly token?: string | undefined; readonly tokenFile?: string | undefined },
  configDir: string,
): Promise<string | undefined> {
  if (admin.tokenFile === undefined) return admin.token;
  const path = isAbsolute(admin.tokenFile) ? admin.tokenFile : resolve(configDir, admin.tokenFile);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new AgentError('AGENT_ERR_ADMIN_TOKEN', `admin.tokenFile: cannot read ${path}`, { cause: e });
  }
  const token = (text.split(/\r?\n/)[0] ?? '').trim();
  if (token.length < 16) {
    throw new AgentError(
      'AGENT_ERR_ADMIN_TOKEN',
      `admin.tokenFile: ${path} must hold a token of 16+ characters`,
    );
  }
  return token;
}

/** A warning for an admin API reachable from other hosts, or `undefined` on loopback. */
export function adminExposure(address: string): string | undefined {
  if (isLoopbackAddress(address)) return undefined;
  return isWildcard(address)
    ? 'admin API listens on every interface (token required on every request); prefer a loopback or management address'
    : 'admin API listens beyond loopback (token required on every request)';
}
