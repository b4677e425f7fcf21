import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { AedesMemoryPersistence } from 'aedes-persistence';

// A CommonJS module whose type definitions declare an ES default export: loaded the CommonJS way.
const memory = createRequire(import.meta.url)('aedes-persistence') as () => AedesMemoryPersistence;

/** The part of a retained packet the index needs (aedes' packets carry more). */
interface RetainedPacket {
  topic: string;
  payload: Buffer | string;
}

/** The promise-based store behind aedes-persistence's callback wrapper (not in its type definitions). */
interface AsyncStore {
  storeRetained(packet: RetainedPacket): Promise<void>;
  createRetainedStream(pattern: string): Readable;
  createRetainedStreamCombi(patterns: string[]): Readable;
}

const hasWildcard = (pattern: string): boolean => pattern.includes('+') || pattern.includes('#');

/**
 * aedes' in-memory persistence with retained messages also indexed by exact topic. The stock
 * store answers every subscription by testing the filter against every retained message: with
 * a fleet's `desired`, `reported` and `status` retained (three per agent), each of 10,000 agents
 * subscribing scanned 30,000 topics (quadratic in the fleet). Agents subscribe to exact topics
 * (`desired`, `ack`) and to `rpc/+` (never retained), so a filter without wildcards is answered
 * from the index; a wildcard filter (the control plane's own `+/reported`, `+/status`) still
 * takes the scan, once per connection.
 */
export function indexedMemoryPersistence(): AedesMemoryPersistence {
  const persistence = memory();
  const store = (persistence as unknown as { asyncPersistence: AsyncStore }).asyncPersistence;
  const byTopic = new Map<string, RetainedPacket>();
  const storeRetained = store.storeRetained.bind(store);
  const scan = store.createRetainedStream.bind(store);
  const scanCombi = store.createRetainedStreamCombi.bind(store);
  const exact = (patterns: readonly string[]): Readable =>
    Readable.from(patterns.flatMap((p) => byTopic.get(p) ?? []));

  store.storeRetained = async (packet) => {
    await storeRetained(packet);
    // The same rule as the store's own: an empty payload clears the topic's retained message.
    if (packet.payload.length === 0) byTopic.delete(packet.topic);
    else byTopic.set(packet.topic, { ...packet });
  };
  store.createRetainedStream = (pattern) => (hasWildcard(pattern) ? scan(pattern) : exact([pattern]));
  store.createRetainedStreamCombi = (patterns) =>
    patterns.some(hasWildcard) ? scanCombi(patterns) : exact(patterns);
  return persistence;
}
