import type { Endpoint, TransportProtocol } from './types.js';
import { endpointKey } from './types.js';

/**
 * Open stream connections, indexed by id, by remote address+port+transport (for reuse,
 * RFC 3261 §18.2.2 / §18.1.1) and counted per source IP (for `maxConnectionsPerSource`).
 * Also keeps, in the order they were added, the connections not yet proven (no valid SIP
 * message so far): when the table is full these are evicted first, oldest first.
 * Pure bookkeeping; the socket type is a parameter.
 */
export class ConnectionTable<C extends { readonly id: number; readonly remote: Endpoint }> {
  private readonly byId = new Map<number, C>();
  private readonly byRemote = new Map<string, C>();
  private readonly perSource = new Map<string, number>();
  /** Insertion-ordered (a Map keeps insertion order): the first entry is the oldest. */
  private readonly unproven = new Map<number, C>();

  constructor(private readonly protocol: TransportProtocol) {}

  get size(): number {
    return this.byId.size;
  }

  /** Connections that have not completed a valid message yet. */
  get unprovenCount(): number {
    return this.unproven.size;
  }

  /** Would one more connection from `address` stay inside `maxConnectionsPerSource`? */
  admitsSource(address: string, maxConnectionsPerSource: number): boolean {
    return (this.perSource.get(address) ?? 0) < maxConnectionsPerSource;
  }

  /** `proven`: the connection is trusted from the start (one the agent opened itself). */
  add(connection: C, proven: boolean): void {
    this.byId.set(connection.id, connection);
    this.byRemote.set(endpointKey(this.protocol, connection.remote), connection);
    this.perSource.set(connection.remote.address, (this.perSource.get(connection.remote.address) ?? 0) + 1);
    if (!proven) this.unproven.set(connection.id, connection);
  }

  /** The connection completed a valid message: it is no longer a candidate for eviction. */
  prove(connection: C): void {
    this.unproven.delete(connection.id);
  }

  /** The unproven connection added first, if any. */
  oldestUnproven(): C | undefined {
    for (const c of this.unproven.values()) return c;
    return undefined;
  }

  remove(connection: C): void {
    if (!this.byId.delete(connection.id)) return;
    this.unproven.delete(connection.id);
    const key = endpointKey(this.protocol, connection.remote);
    if (this.byRemote.get(key) === connection) this.byRemote.delete(key);
    const n = (this.perSource.get(connection.remote.address) ?? 1) - 1;
    if (n <= 0) this.perSource.delete(connection.remote.address);
    else this.perSource.set(connection.remote.address, n);
  }

  get(id: number): C | undefined {
    return this.byId.get(id);
  }

  findByRemote(remote: Endpoint): C | undefined {
    return this.byRemote.get(endpointKey(this.protocol, remote));
  }

  all(): C[] {
    return [...this.byId.values()];
  }
}
