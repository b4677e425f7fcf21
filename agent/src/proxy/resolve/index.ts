/**
 * RFC 3263 server location for a request to a foreign domain: `resolveTargets` walks NAPTR → SRV → A/AAAA
 * over an injected {@link DnsLookup} and returns the ordered failover list, or why there is none.
 * The decisions are in `targets.ts`; this file only sequences the lookups (in parallel where order allows).
 */
import type { SipUri } from '../../sip/message.js';
import {
  type AddressFamily,
  addressTargets,
  DEFAULT_PORT,
  type DnsLookup,
  fallbackTransport,
  finishTargets,
  MAX_TARGETS,
  orderSrv,
  planLookup,
  type SrvQuery,
  type SrvRecord,
  selectNaptr,
  srvQueriesWithoutNaptr,
  type Target,
  type Transport,
} from './targets.js';

export type {
  AddressFamily,
  DnsLookup,
  LookupPlan,
  NaptrRecord,
  SrvQuery,
  SrvRecord,
  Target,
  Transport,
} from './targets.js';
export { DEFAULT_PORT, MAX_TARGETS, orderSrv, planLookup, selectNaptr } from './targets.js';

/**
 * `no-such-domain`: every lookup answered and none found a record.
 * `no-targets`: records exist but yield nothing we can use (SRV `.`, targets without addresses,
 * an unsupported transport). `dns-failure`: no target, and at least one lookup failed (timeout, SERVFAIL …).
 */
export type ResolveFailure = 'no-such-domain' | 'no-targets' | 'dns-failure';

export type ResolveResult =
  | { readonly ok: true; readonly targets: readonly Target[] }
  | { readonly ok: false; readonly reason: ResolveFailure; readonly detail: string };

/** One table from failure to the proxy's final response (RFC 3261 §16.7: the proxy answers for the target set). */
export const RESOLVE_FAILURE_STATUS: Readonly<
  Record<ResolveFailure, { readonly status: number; readonly reason: string }>
> = {
  'no-such-domain': { status: 404, reason: 'Not Found' },
  'no-targets': { status: 480, reason: 'Temporarily Unavailable' },
  'dns-failure': { status: 503, reason: 'Service Unavailable' },
};

export interface ResolveDeps {
  readonly dns: DnsLookup;
  /** Uniform in [0, 1): the SRV weight draws (RFC 2782). */
  readonly random: () => number;
  /** Which address records to look up, in order; default IPv4 then IPv6. */
  readonly families?: readonly AddressFamily[];
}

/** RFC 3263 §4: the ordered targets for a `sip:`/`sips:` Request-URI (or Route) to a foreign domain. */
export async function resolveTargets(uri: SipUri, deps: ResolveDeps): Promise<ResolveResult> {
  const plan = planLookup(uri);
  if (plan.kind === 'numeric') return { ok: true, targets: [plan.target] };
  if (plan.kind === 'unusable') return { ok: false, reason: 'no-targets', detail: plan.detail };

  const walk = new Walk(deps);
  let targets: Target[];
  if (plan.kind === 'address') {
    targets = await walk.addresses(plan.name, plan.port, plan.transport);
  } else {
    let queries: readonly SrvQuery[];
    let fallback: Transport;
    if (plan.kind === 'srv') {
      queries = plan.queries;
      fallback = plan.fallback;
    } else {
      const chosen = selectNaptr(await walk.run('NAPTR', plan.name, (n) => deps.dns.naptr(n)), plan.secure);
      // §4.1: no (usable) NAPTR → SRV per supported transport.
      queries = chosen.length > 0 ? chosen : srvQueriesWithoutNaptr(plan.name, plan.secure);
      fallback = fallbackTransport(plan.secure, chosen);
    }
    const srv = await walk.srv(queries);
    // §4.2: no SRV record at all → the domain's own A/AAAA at the transport's default port.
    // (SRV records that all say `.` mean "not available": no fallback.)
    targets = srv.anyRecord ? srv.targets : await walk.addresses(plan.name, undefined, fallback);
  }

  const finished = finishTargets(targets);
  if (finished.length > 0) return { ok: true, targets: finished };
  if (walk.failures.length > 0) {
    return { ok: false, reason: 'dns-failure', detail: walk.failures.join('; ') };
  }
  if (!walk.foundAny) {
    return {
      ok: false,
      reason: 'no-such-domain',
      detail: `no NAPTR, SRV or address records for ${plan.name}`,
    };
  }
  return { ok: false, reason: 'no-targets', detail: `DNS records for ${plan.name} yield no usable target` };
}

/** Runs lookups, remembering whether any record was found and which lookups failed. */
class Walk {
  foundAny = false;
  readonly failures: string[] = [];

  constructor(private readonly deps: ResolveDeps) {}

  /** A failed lookup counts as empty here (a broken NAPTR must not hide working SRV records) and is reported. */
  async run<T>(
    type: string,
    name: string,
    lookup: (name: string) => Promise<readonly T[]>,
  ): Promise<readonly T[]> {
    try {
      const records = await lookup(name);
      if (records.length > 0) this.foundAny = true;
      return records;
    } catch (e) {
      this.failures.push(`${type} ${name}: ${e instanceof Error ? e.message : String(e)}`);
      return [];
    }
  }

  /** SRV for each query (in parallel), records ordered per query, queries in the given order. */
  async srv(queries: readonly SrvQuery[]): Promise<{ anyRecord: boolean; targets: Target[] }> {
    const answers = await Promise.all(
      queries.map((q) => this.run('SRV', q.name, (n) => this.deps.dns.srv(n))),
    );
    const picked: Array<{ transport: Transport; record: SrvRecord }> = [];
    queries.forEach((q, i) => {
      for (const record of orderSrv(answers[i] ?? [], this.deps.random))
        picked.push({ transport: q.transport, record });
    });
    const anyRecord = answers.some((a) => a.length > 0);
    const followed = picked.slice(0, MAX_TARGETS);
    const resolved = await Promise.all(
      followed.map(({ transport, record }) => this.addresses(record.name, record.port, transport)),
    );
    return { anyRecord, targets: resolved.flat() };
  }

  /** A and AAAA of `name` (in parallel) at `port` (default: the transport's). */
  async addresses(name: string, port: number | undefined, transport: Transport): Promise<Target[]> {
    const families = this.deps.families ?? ['ipv4', 'ipv6'];
    const [ipv4, ipv6] = await Promise.all([
      families.includes('ipv4') ? this.run('A', name, (n) => this.deps.dns.a(n)) : [],
      families.includes('ipv6') ? this.run('AAAA', name, (n) => this.deps.dns.aaaa(n)) : [],
    ]);
    const host = name.endsWith('.') ? name.slice(0, -1) : name;
    return addressTargets(host, port ?? DEFAULT_PORT[transport], transport, { ipv4, ipv6 }, families);
  }
}
