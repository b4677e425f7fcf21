import { type AgentConfig, err, ok, type Result } from '@sipwall/shared';
import type { BruteForcePolicy } from '../auth/brute-force.js';
import { type AlgorithmPolicy, compileAlgorithmPolicy } from '../auth/offered-algorithms.js';
import { type MyselfHost, myselfFromConfig } from '../core/myself.js';
import type { RegistrarConfig } from './process-register.js';
import { indexUsers, type RegistrarUsers } from './registrar-users.js';
import { compileCidrs } from './source-acl.js';

/** Where passive mode relays REGISTERs (`sip.registrar.upstream`, `host[:port]`). */
export interface UpstreamTarget {
  readonly host: string;
  readonly port: number;
}

/** Everything the registrar needs from one applied config, compiled once per config change. */
export interface RegistrarSettings {
  readonly mode: 'main' | 'passive';
  readonly config: RegistrarConfig;
  readonly users: RegistrarUsers;
  /** Realms (= our domains) exactly as configured: they enter HA1. */
  readonly realms: ReadonlySet<string>;
  /** Which digest algorithms are offered, in which order (`sip.auth`; see `offeredAlgorithms`). */
  readonly algorithms: AlgorithmPolicy;
  readonly bruteForce: BruteForcePolicy;
  readonly dropUserAgents: readonly string[];
  readonly upstream: UpstreamTarget | undefined;
  /** Passive mode: answer 408 ourselves after this long (60·T1, inside the 64·T1 of Timer F). */
  readonly upstreamDeadlineMs: number;
}

export type SettingsError =
  | { readonly code: 'bad-cidr'; readonly cidr: string }
  | { readonly code: 'bad-upstream'; readonly upstream: string | undefined };

/** Parses `host[:port]` (IPv6 in brackets); port defaults to 5060 (RFC 3261 §19.1.2). */
export function parseUpstream(text: string): UpstreamTarget | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+)(?::(\d{1,5}))?$/.exec(text.trim());
  if (m === null) return undefined;
  const port = m[2] === undefined ? 5060 : Number(m[2]);
  if (port < 1 || port > 65_535) return undefined;
  const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  return { host, port };
}

/**
 * Compiles the registrar's view of a config (users, site policy, mode, offered digest algorithms,
 * and "myself": the domains plus the agent's addresses from config and `host`). Pure: the host's
 * interface addresses and bound listeners come in as values.
 */
export function compileRegistrarSettings(
  config: AgentConfig,
  host: MyselfHost = {},
): Result<RegistrarSettings, SettingsError> {
  const r = config.sip.registrar;
  const users = indexUsers(config.users);
  if (!users.ok) return err(users.error);
  const allow = compileCidrs(config.policies.registerAllowFrom);
  if (!allow.ok) return err(allow.error);
  const deny = compileCidrs(config.policies.registerDenyFrom);
  if (!deny.ok) return err(deny.error);
  const upstream = r.upstream === undefined ? undefined : parseUpstream(r.upstream);
  if (r.mode === 'passive' && upstream === undefined)
    return err({ code: 'bad-upstream', upstream: r.upstream });
  return ok({
    mode: r.mode,
    config: {
      minExpiresSec: r.minExpiresSec,
      maxExpiresSec: r.maxExpiresSec,
      defaultExpiresSec: Math.min(Math.max(r.defaultExpiresSec, r.minExpiresSec), r.maxExpiresSec),
      domains: new Set(config.sip.domains.map((d) => d.toLowerCase())),
      myself: myselfFromConfig(config.sip, host),
      sourcePolicy: { allow: allow.value, deny: deny.value },
    },
    users: users.value,
    realms: new Set(config.sip.domains),
    algorithms: compileAlgorithmPolicy(config.sip.auth),
    bruteForce: config.policies.bruteForce,
    dropUserAgents: config.policies.dropUserAgents,
    upstream,
    upstreamDeadlineMs: 60 * config.sip.timers.t1Ms,
  });
}
