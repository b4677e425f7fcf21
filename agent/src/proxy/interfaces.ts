import type { SipListening } from '../core/sip-stack.js';
import {
  type CidrSet,
  cidrSetContains,
  compileCidrs,
  EMPTY_CIDR_SET,
  parseIp,
} from '../registrar/source-acl.js';
import type { TransportProtocol } from '../transport/types.js';
import { normalizeHost } from '../transport/via-stamp.js';

export type Role = 'inside' | 'outside';

/** One configured SIP interface as the proxy sees it. */
export interface ProxyInterface {
  readonly name: string;
  readonly role: Role;
  /** Bound address. */
  readonly address: string;
  /** What peers on this side are told (1:1 NAT public address, else the bound address). */
  readonly advertised: string;
  /** Listening port per transport. */
  readonly ports: ReadonlyMap<TransportProtocol, number>;
  /** Networks reached through this interface. */
  readonly networks: CidrSet;
}

export interface InterfaceSpec {
  readonly name: string;
  readonly role: Role;
  readonly address: string;
  readonly publicAddress?: string | undefined;
  /** Configured `networks`, or the subnet the host reports for `address` (see `hostSubnet`). */
  readonly networks: readonly string[];
}

/**
 * The agent's interfaces and which one reaches an address (pure): an address that is one of an
 * interface's own addresses, else one inside an interface's networks (inside interfaces first),
 * else the first outside interface — the firewall's default route.
 */
export class InterfaceMap {
  readonly all: readonly ProxyInterface[];
  private readonly byName: ReadonlyMap<string, ProxyInterface>;
  private readonly byAddress: ReadonlyMap<string, ProxyInterface>;
  private readonly defaultOut: ProxyInterface;
  /** Answers for recent destinations (a call's messages go to the same few addresses). */
  private readonly memo = new Map<string, ProxyInterface>();

  constructor(specs: readonly InterfaceSpec[], listening: readonly SipListening[]) {
    const all: ProxyInterface[] = specs.map((s) => {
      const ports = new Map<TransportProtocol, number>();
      for (const l of listening) if (l.interface === s.name) ports.set(l.transport, l.port);
      const nets = compileCidrs(s.networks);
      return {
        name: s.name,
        role: s.role,
        address: normalizeHost(s.address),
        advertised: normalizeHost(s.publicAddress ?? s.address),
        ports,
        networks: nets.ok ? nets.value : EMPTY_CIDR_SET,
      };
    });
    if (all.length === 0) throw new Error('InterfaceMap: no interfaces');
    this.all = all;
    this.byName = new Map(all.map((i) => [i.name, i]));
    this.byAddress = new Map(all.flatMap((i) => [[i.address, i] as const, [i.advertised, i] as const]));
    this.defaultOut = all.find((i) => i.role === 'outside') ?? all[0]!;
  }

  get(name: string): ProxyInterface | undefined {
    return this.byName.get(name);
  }

  /** The interface a request to `address` leaves through. */
  forDestination(address: string): ProxyInterface {
    let found = this.memo.get(address);
    if (found === undefined) {
      found = this.lookup(address);
      if (this.memo.size >= 4096) this.memo.clear();
      this.memo.set(address, found);
    }
    return found;
  }

  private lookup(address: string): ProxyInterface {
    const host = normalizeHost(address);
    const own = this.byAddress.get(host);
    if (own !== undefined) return own;
    const ip = parseIp(host);
    if (ip !== undefined) {
      for (const role of ['inside', 'outside'] as const) {
        for (const i of this.all) if (i.role === role && cidrSetContains(i.networks, ip)) return i;
      }
    }
    return this.defaultOut;
  }

  /** Is `address` (a packet source) on the inside of the firewall? */
  isInsideAddress(address: string): boolean {
    return this.forDestination(address).role === 'inside';
  }
}

/** `address/prefix` of the host interface holding `address` (from os.networkInterfaces()), if any. */
export function hostSubnet(
  address: string,
  hostInterfaces: Readonly<
    Record<string, ReadonlyArray<{ address: string; cidr: string | null }> | undefined>
  >,
): string | undefined {
  const want = normalizeHost(address);
  for (const list of Object.values(hostInterfaces)) {
    for (const a of list ?? []) if (normalizeHost(a.address) === want && a.cidr !== null) return a.cidr;
  }
  return undefined;
}
