import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { indexedMemoryPersistence } from './retained-index.js';

const packet = (topic: string, payload: string) =>
  ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: true, dup: false }) as never;

async function topicsOf(stream: Readable): Promise<string[]> {
  const out: string[] = [];
  for await (const p of stream)
    out.push(`${(p as { topic: string }).topic}=${String((p as { payload: Buffer }).payload)}`);
  return out;
}

function store(p: ReturnType<typeof indexedMemoryPersistence>, pkt: never): Promise<void> {
  return new Promise((resolve, reject) => p.storeRetained(pkt, (e) => (e ? reject(e) : resolve())));
}

describe('indexedMemoryPersistence', () => {
  it('answers exact filters from the index and wildcard filters by scanning, with the same contents', async () => {
    const p = indexedMemoryPersistence();
    // aedes hands the persistence its broker this way; the store is ready once it has one.
    const ready = new Promise<void>((r) => (p as unknown as NodeJS.EventEmitter).once('ready', () => r()));
    (p as unknown as { broker: unknown }).broker = {};
    await ready;
    await store(p, packet('sipwall/v1/agents/a-1/desired', 'v1'));
    await store(p, packet('sipwall/v1/agents/a-2/desired', 'v2'));
    await store(p, packet('sipwall/v1/agents/a-1/status', 'online'));
    await store(p, packet('sipwall/v1/agents/a-1/desired', 'v3')); // replaces v1

    expect(await topicsOf(p.createRetainedStream('sipwall/v1/agents/a-1/desired'))).toEqual([
      'sipwall/v1/agents/a-1/desired=v3',
    ]);
    expect(
      await topicsOf(
        p.createRetainedStreamCombi(['sipwall/v1/agents/a-1/desired', 'sipwall/v1/agents/a-1/ack']),
      ),
    ).toEqual(['sipwall/v1/agents/a-1/desired=v3']);
    expect((await topicsOf(p.createRetainedStream('sipwall/v1/agents/+/desired'))).sort()).toEqual([
      'sipwall/v1/agents/a-1/desired=v3',
      'sipwall/v1/agents/a-2/desired=v2',
    ]);

    // An empty retained payload clears the topic in both paths.
    await store(p, packet('sipwall/v1/agents/a-1/desired', ''));
    expect(await topicsOf(p.createRetainedStream('sipwall/v1/agents/a-1/desired'))).toEqual([]);
    expect(await topicsOf(p.createRetainedStream('sipwall/v1/agents/#'))).toEqual([
      'sipwall/v1/agents/a-2/desired=v2',
      'sipwall/v1/agents/a-1/status=online',
    ]);
  });
});
