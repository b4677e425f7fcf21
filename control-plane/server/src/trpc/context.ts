import type { Database } from '../db/client.js';
import type { ClientFacts } from '../http/client.js';
import type { Logger } from '../logger.js';
import type { SignInThrottle } from '../security/sign-in-throttle.js';
import type { OperatorView } from '../db/queries/operators.js';
import { findSessionOperator } from '../db/queries/sessions.js';
import type { AgentProvisioner, Clock, DesiredPublisher } from '../domain/ports.js';
import type { RpcClient } from '../ingest/rpc-client.js';
import { hashToken } from '../security/tokens.js';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'sipwall_session';

/** What every request shares: built once by the composition root. */
export interface ApiDeps {
  db: Database;
  clock: Clock;
  publisher: DesiredPublisher;
  /** Revokes agents' broker credentials (dynsec on Mosquitto; disconnect on the embedded broker). */
  provisioner: AgentProvisioner;
  /** Always adds `Secure` to the session cookie (`SIPWALL_SECURE_COOKIES`); see `RequestFacts.secure`. */
  secureCookies: boolean;
  signInThrottle: SignInThrottle;
  /** Live queries to agents (MQTT rpc). */
  live: RpcClient;
  logger: Logger;
}

/** What the HTTP layer established about one request (app.ts). */
export interface RequestFacts extends ClientFacts {
  /** The browser reached us over HTTPS: a trusted proxy said so, or the public URL is https. */
  secure: boolean;
}

/** For in-process callers (tests, scripts): no socket, no proxy. */
export const IN_PROCESS_REQUEST: RequestFacts = {
  ip: 'in-process',
  proto: 'http',
  host: null,
  secure: false,
};

/** Per-request tRPC context. */
export interface Context extends ApiDeps {
  operator: OperatorView | null;
  sessionTokenHash: string | null;
  /** Response headers of the current request (Set-Cookie goes here). */
  resHeaders: Headers;
  request: RequestFacts;
}

/** Reads one cookie from a Cookie header. */
export function readCookie(header: string | null | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

/** Builds the context from request headers: resolves the session cookie to an operator. */
export async function createContext(
  deps: ApiDeps,
  req: { headers: Headers },
  resHeaders: Headers = new Headers(),
  request: RequestFacts = IN_PROCESS_REQUEST,
): Promise<Context> {
  const token = readCookie(req.headers.get('cookie'), SESSION_COOKIE);
  const sessionTokenHash = token ? hashToken(token) : null;
  const operator = sessionTokenHash
    ? await findSessionOperator(deps.db, { tokenHash: sessionTokenHash, now: deps.clock() })
    : null;
  return { ...deps, operator, sessionTokenHash: operator ? sessionTokenHash : null, resHeaders, request };
}
