import type { Endpoint, TransportProtocol } from './types.js';
import { endpointKey } from './types.js';

/**
 * Open stream connections, indexed by id, by remote address+port+transport (for reuse,
 * RFC 3261 §18.2.2 / §18.1.1) and counted per source IP (for `maxConnectionsPerSource`).
 * Pure bookkeeping; the socket type is a parameter.
 */
export class ConnectionTable<C extends { readonly id: number; readonly remote: Endpoint }> {
  private readonly byId = new Map<number, C>();
  private readonly byRemote = new Map<string, C>();
  private readonly perSource = new Map<string, number>();

  constructor(private readonly protocol: TransportProtocol) {}

  get size(): number {
    return this.byId.size;
  }

  /** Would one more connection from `address` stay inside both limits? */
  admits(address: string, limits: { maxConnections: number; maxConnectionsPerSource: number }): boolean {
    if (this.byId.size >= limits.maxConnections) return false;
    return (this.perSource.get(address) ?? 0) < limits.maxConnectionsPerSource;
  }

  add(connection: C): void {
    this.byId.set(connection.id, connection);
    this.byRemote.set(endpointKey(this.protocol, connection.remote), connection);
    this.perSource.set(connection.remote.address, (this.perSource.get(connection.remote.address) ?? 0) + 1);
  }

  remove(connection: C): void {
    if (!this.byId.delete(connection.id)) return;
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
