/**
 * The {@link DnsLookup} the agent runs with: `node:dns/promises` `Resolver` (configured servers, per-query
 * timeout and tries) behind a small TTL-respecting cache on the injected clock. The only I/O of `resolve/`.
 */
import { Resolver } from 'node:dns/promises';
import { AgentError } from '../../errors.js';
import type { Clock } from '../../util/clock.js';
import type { DnsLookup, NaptrRecord, SrvRecord } from './targets.js';

export type DnsErrorReason = 'bad-server' | 'query-failed';

/** Raised for a bad server in the config, and the rejection of a lookup that got no answer. */
export class DnsError extends AgentError {
  override readonly code = 'AGENT_ERR_DNS' as const;
  readonly reason: DnsErrorReason;
  /** c-ares code for `query-failed` (`ETIMEOUT`, `ESERVFAIL`, `EREFUSED`, `ECONNREFUSED` …). */
  readonly dnsCode: string | undefined;

  constructor(reason: DnsErrorReason, message: string, dnsCode?: string, options?: { cause?: unknown }) {
    super('AGENT_ERR_DNS', message, options);
    this.reason = reason;
    this.dnsCode = dnsCode;
  }
}

/** The queries the cache needs; a `node:dns/promises` `Resolver` is one (tests wrap it to count queries). */
export interface DnsQueries {
  resolveNaptr(name: string): Promise<NaptrRecord[]>;
  resolveSrv(name: string): Promise<SrvRecord[]>;
  resolve4(name: string, options: { ttl: true }): Promise<Array<{ address: string; ttl: number }>>;
  resolve6(name: string, options: { ttl: true }): Promise<Array<{ address: string; ttl: number }>>;
}

export interface ResolverSettings {
  /** `sip.proxy.dnsServers`: `address`, `address:port` or `[v6]:port`; empty = the system's resolvers. */
  readonly servers: readonly string[];
  /** First per-query timeout (c-ares backs off on later tries). Default 1000 ms. */
  readonly timeoutMs?: number;
  /** Tries per server before the query fails. Default 2. */
  readonly tries?: number;
}

/** A `Resolver` on the configured servers; throws {@link DnsError} `bad-server` for an entry that is no address. */
export function createResolver(settings: ResolverSettings): DnsQueries {
  const resolver = new Resolver({ timeout: settings.timeoutMs ?? 1000, tries: settings.tries ?? 2 });
  if (settings.servers.length > 0) {
    try {
      resolver.setServers([...settings.servers]);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      throw new DnsError('bad-server', `sip.proxy.dnsServers: ${message}`, undefined, { cause: e });
    }
  }
  return resolver;
}

export interface DnsCacheSettings {
  /** Entries kept (least recently used dropped first). Default 1024. */
  readonly maxEntries?: number;
  /** Upper bound on any record's TTL. Default 3600 s. */
  readonly maxTtlSec?: number;
  /** TTL for NAPTR and SRV answers, whose TTL `node:dns` does not expose. Default 60 s. */
  readonly recordTtlSec?: number;
  /** How long "no such name / no such record" is remembered (RFC 2308 style). Default 30 s. */
  readonly negativeTtlSec?: number;
}

/** Answers that find nothing: `[]`, not a failure (the {@link DnsLookup} contract). */
const EMPTY_CODES = new Set(['ENODATA', 'ENOTFOUND']);

interface Entry {
  readonly expiresAt: number;
  readonly records: readonly unknown[];
}

/** {@link DnsLookup} over `queries` with a bounded TTL cache; concurrent identical lookups share one query. */
export function createDnsLookup(
  queries: DnsQueries,
  deps: { readonly clock: Clock },
  settings: DnsCacheSettings = {},
): DnsLookup {
  const maxEntries = Math.max(1, settings.maxEntries ?? 1024);
  const maxTtlMs = (settings.maxTtlSec ?? 3600) * 1000;
  const recordTtlMs = Math.min(maxTtlMs, (settings.recordTtlSec ?? 60) * 1000);
  const negativeTtlMs = Math.min(maxTtlMs, (settings.negativeTtlSec ?? 30) * 1000);
  const cache = new Map<string, Entry>();
  const inflight = new Map<string, Promise<readonly unknown[]>>();

  function lookup<T>(
    type: string,
    rawName: string,
    query: (name: string) => Promise<{ records: T[]; ttlMs: number }>,
  ) {
    const name = normalize(rawName);
    const key = `${type} ${name}`;
    const now = deps.clock.now();
    const hit = cache.get(key);
    if (hit !== undefined) {
      cache.delete(key);
      if (hit.expiresAt > now) {
        cache.set(key, hit); // most recently used goes last
        return Promise.resolve(hit.records as readonly T[]);
      }
    }
    const pending = inflight.get(key);
    if (pending !== undefined) return pending as Promise<readonly T[]>;

    const p = query(name).then(
      ({ records, ttlMs }) => {
        const ttl = records.length === 0 ? negativeTtlMs : Math.min(ttlMs, maxTtlMs);
        if (ttl > 0) store(key, { expiresAt: deps.clock.now() + ttl, records });
        return records as readonly T[];
      },
      (e: unknown) => {
        const code = (e as { code?: unknown } | null)?.code;
        if (typeof code === 'string' && EMPTY_CODES.has(code)) {
          if (negativeTtlMs > 0) store(key, { expiresAt: deps.clock.now() + negativeTtlMs, records: [] });
          return [] as readonly T[];
        }
        const reason = typeof code === 'string' ? code : e instanceof Error ? e.message : String(e);
        throw new DnsError('query-failed', reason, typeof code === 'string' ? code : undefined, { cause: e });
      },
    );
    inflight.set(key, p);
    const forget = () => inflight.delete(key);
    p.then(forget, forget);
    return p;
  }

  function store(key: string, entry: Entry): void {
    cache.delete(key);
    cache.set(key, entry);
    while (cache.size > maxEntries) {
      const oldest = cache.keys().next().value;
      if (oldest === undefined) break;
      cache.delete(oldest);
    }
  }

  const withTtl = async (records: Promise<Array<{ address: string; ttl: number }>>) => {
    const list = await records;
    const ttl = list.reduce((min, r) => Math.min(min, r.ttl), Number.POSITIVE_INFINITY);
    return { records: list.map((r) => r.address), ttlMs: Number.isFinite(ttl) ? ttl * 1000 : 0 };
  };

  return {
    naptr: (name) =>
      lookup('NAPTR', name, async (n) => ({ records: await queries.resolveNaptr(n), ttlMs: recordTtlMs })),
    srv: (name) =>
      lookup('SRV', name, async (n) => ({ records: await queries.resolveSrv(n), ttlMs: recordTtlMs })),
    a: (name) => lookup('A', name, (n) => withTtl(queries.resolve4(n, { ttl: true }))),
    aaaa: (name) => lookup('AAAA', name, (n) => withTtl(queries.resolve6(n, { ttl: true }))),
  };
}

function normalize(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
