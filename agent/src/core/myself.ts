import type { Uri } from '../sip/message.js';
import { normalizeHost } from '../transport/via-stamp.js';

/** What the agent answers to: its SIP domains and every address it listens on (RFC 3261 §16.4 "myself"). */
export interface MyselfInput {
  /** The site's SIP domains; the first is the default domain. */
  readonly domains: readonly string[];
  /** Listening sockets (address, port); an unspecified address (0.0.0.0, ::) stands for `hostAddresses`. */
  readonly listeners: ReadonlyArray<{ readonly address: string; readonly port: number }>;
  /** Advertised addresses (1:1 NAT `publicAddress`), valid on the listeners' ports. */
  readonly publicAddresses?: readonly string[];
  /** The host's own interface addresses (os.networkInterfaces), used for wildcard listeners. */
  readonly hostAddresses?: readonly string[];
}

const UNSPECIFIED = new Set(['0.0.0.0', '::']);

/**
 * The "myself" test (pure): a host names the agent when it is one of the site's domains (any
 * port) or one of its addresses with no port or a port it listens on. A request for myself is
 * handled locally; an AOR whose host is one of the agent's addresses maps to the default domain,
 * so phones configured with the firewall's IP as "server" register and call as users of the site.
 */
export class Myself {
  private readonly domains: ReadonlySet<string>;
  private readonly addresses: ReadonlySet<string>;
  private readonly ports: ReadonlySet<number>;
  readonly defaultDomain: string;

  constructor(input: MyselfInput) {
    this.domains = new Set(input.domains.map((d) => d.toLowerCase()));
    this.defaultDomain = (input.domains[0] ?? 'localhost').toLowerCase();
    const addresses = new Set<string>();
    for (const l of input.listeners) {
      if (UNSPECIFIED.has(normalizeHost(l.address))) {
        for (const a of input.hostAddresses ?? []) addresses.add(normalizeHost(a));
      } else addresses.add(normalizeHost(l.address));
    }
    for (const a of input.publicAddresses ?? []) addresses.add(normalizeHost(a));
    this.addresses = addresses;
    this.ports = new Set(input.listeners.map((l) => l.port));
  }

  /** `host` (any case, IPv6 with or without brackets) with an optional port names the agent. */
  isHost(host: string, port?: number): boolean {
    const h = normalizeHost(host);
    if (this.domains.has(h)) return true;
    return this.addresses.has(h) && (port === undefined || this.ports.has(port));
  }

  isDomain(host: string): boolean {
    return this.domains.has(normalizeHost(host));
  }

  isAddress(host: string): boolean {
    return this.addresses.has(normalizeHost(host));
  }

  /** A `sip:`/`sips:` URI whose host and port name the agent. */
  isUri(uri: Uri): boolean {
    return uri.kind === 'sip' && this.isHost(uri.host, uri.port);
  }

  /**
   * The domain an AOR host belongs to: a site domain as itself, one of the agent's addresses as
   * the default domain, anything else `undefined` (not ours).
   */
  aorDomain(host: string): string | undefined {
    const h = normalizeHost(host);
    if (this.domains.has(h)) return h;
    return this.addresses.has(h) ? this.defaultDomain : undefined;
  }

  /** Every address the agent answers on (for the transport layer's "Via is ours" check). */
  allAddresses(): string[] {
    return [...this.addresses];
  }
}

/** The parts of `sip` config that say what the agent answers to. */
export interface MyselfConfig {
  readonly domains: readonly string[];
  readonly interfaces: ReadonlyArray<{
    readonly address: string;
    readonly port: number;
    readonly publicAddress?: string | undefined;
  }>;
}

/** What only the running host knows: its interface addresses and the sockets actually bound. */
export interface MyselfHost {
  /** `os.networkInterfaces()` addresses (for 0.0.0.0 / :: listeners), read by the caller. */
  readonly hostAddresses?: readonly string[];
  /** Bound listeners; with port 0 in config only these know the real port. Config ports otherwise. */
  readonly listening?: ReadonlyArray<{ readonly address: string; readonly port: number }>;
}

/** Builds {@link Myself} from `sip` config and the host's facts (pure). */
export function myselfFromConfig(sip: MyselfConfig, host: MyselfHost = {}): Myself {
  const listening = host.listening ?? [];
  return new Myself({
    domains: sip.domains,
    listeners: listening.length > 0 ? listening : sip.interfaces,
    publicAddresses: sip.interfaces.flatMap((i) => (i.publicAddress === undefined ? [] : [i.publicAddress])),
    hostAddresses: host.hostAddresses ?? [],
  });
}
