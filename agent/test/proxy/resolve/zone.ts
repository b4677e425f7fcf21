/** Test fixtures for `proxy/resolve`: an in-memory zone as a DnsLookup, SIP URIs from text, fixed randomness. */
import type { DnsLookup, NaptrRecord, SrvRecord } from '../../../src/proxy/resolve/index.js';
import type { SipUri } from '../../../src/sip/index.js';
import { parseUri } from '../../../src/sip/index.js';

export interface Zone {
  readonly naptr?: Readonly<Record<string, readonly NaptrRecord[]>>;
  readonly srv?: Readonly<Record<string, readonly SrvRecord[]>>;
  readonly a?: Readonly<Record<string, readonly string[]>>;
  readonly aaaa?: Readonly<Record<string, readonly string[]>>;
  /** `"SRV _sip._udp.example.net"` → the lookup rejects (SERVFAIL, timeout …). */
  readonly failing?: readonly string[];
}

export interface ZoneLookup extends DnsLookup {
  /** Every query asked, as `"TYPE name"`, in order. */
  readonly asked: string[];
}

/** A DnsLookup answering from `zone`; names absent resolve `[]`, names in `failing` reject. */
export function zoneLookup(zone: Zone): ZoneLookup {
  const asked: string[] = [];
  function answer<T>(type: string, table: Readonly<Record<string, readonly T[]>> | undefined, name: string) {
    asked.push(`${type} ${name}`);
    if (zone.failing?.includes(`${type} ${name}`)) {
      return Promise.reject(new Error(`ESERVFAIL`));
    }
    return Promise.resolve(table?.[name] ?? []);
  }
  return {
    asked,
    naptr: (name) => answer('NAPTR', zone.naptr, name),
    srv: (name) => answer('SRV', zone.srv, name),
    a: (name) => answer('A', zone.a, name),
    aaaa: (name) => answer('AAAA', zone.aaaa, name),
  };
}

export function sipUri(text: string): SipUri {
  const uri = parseUri(text);
  if (uri?.kind !== 'sip') throw new Error(`not a sip/sips URI: ${text}`);
  return uri;
}

/** Returns the given values in turn (then repeats the last), for SRV weight draws. */
export function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)] ?? 0;
}

/** Seeded PRNG (mulberry32) for statistical checks that still run the same every time. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function naptr(
  order: number,
  preference: number,
  service: string,
  replacement: string,
  flags = 's',
): NaptrRecord {
  return { order, preference, flags, service, regexp: '', replacement };
}

export function srv(name: string, port: number, priority = 10, weight = 0): SrvRecord {
  return { name, port, priority, weight };
}
