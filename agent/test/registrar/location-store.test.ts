import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { JOURNAL_FILE } from '../../src/registrar/binding-journal.js';
import { encodeChange } from '../../src/registrar/journal-record.js';
import { MemoryLocationStore } from '../../src/registrar/location-store.js';
import { ManualClock } from '../../src/util/clock.js';
import { beforeSend } from '../../src/util/send-barrier.js';
import { locationStoreContract } from './location-store.contract.js';
import { aBinding, T0 } from './register-fixtures.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'sipwall-loc-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function openAt(dir: string, clock = new ManualClock(T0), extra: { compactMinLines?: number } = {}) {
  return MemoryLocationStore.open(clock, { journal: { dir, groupCommitMs: 10, ...extra } });
}

locationStoreContract('memory only', async () => MemoryLocationStore.inMemory());
locationStoreContract('with journal', async () => (await openAt(await tempDir())).store);

describe('journaled store: persistence', () => {
  const b = (key: string, expiresAt = T0 + 600_000) =>
    aBinding({ key, contact: `sip:alice@${key}`, expiresAt });

  it('reloads what was flushed, with absolute expiry (remaining lifetime kept)', async () => {
    const dir = await tempDir();
    const { store } = await openAt(dir);
    store.upsert(b('192.0.2.1'));
    store.upsert({
      ...b('192.0.2.2'),
      q: 500,
      instanceId: '<urn:uuid:1>',
      regId: 1,
      flow: { transport: 'tcp', address: '2001:db8::1', port: 5060, connectionId: 7 },
      userAgent: 'Grandstream GXP2170 1.0.11.3',
    });
    store.remove('sip:alice@example.com', '192.0.2.1');
    await store.flush();
    await store.close();
    const { store: again, stats } = await openAt(dir, new ManualClock(T0 + 300_000));
    expect(stats).toEqual({ lines: 3, corrupt: 0, tornTail: false });
    const list = again.lookup('sip:alice@example.com');
    expect(list).toHaveLength(1);
    expect(list[0]).toEqual({
      ...b('192.0.2.2'),
      q: 500,
      instanceId: '<urn:uuid:1>',
      regId: 1,
      flow: { transport: 'tcp', address: '2001:db8::1', port: 5060, connectionId: 7 },
      userAgent: 'Grandstream GXP2170 1.0.11.3',
    });
    await again.close();
  });

  it('drops bindings that expired while the agent was down', async () => {
    const dir = await tempDir();
    const { store } = await openAt(dir);
    store.upsert(b('short', T0 + 1000));
    store.upsert(b('long', T0 + 100_000));
    await store.close();
    const { store: again } = await openAt(dir, new ManualClock(T0 + 50_000));
    expect(again.lookup('sip:alice@example.com').map((x) => x.key)).toEqual(['long']);
    await again.close();
  });

  it("writes the turn's changes before the next send (or at the end of the turn); fdatasync follows on the clock", async () => {
    const dir = await tempDir();
    const clock = new ManualClock(T0);
    const { store } = await openAt(dir, clock);
    const lines = () =>
      readFileSync(join(dir, JOURNAL_FILE), 'utf8')
        .split('\n')
        .filter((l) => l !== '').length;
    const before = lines();
    store.upsert(b('a'));
    store.upsert(b('b'));
    expect(lines()).toBe(before); // queued for this turn
    beforeSend(); // what every transport calls before it writes to a socket
    // In the file (the kernel's page cache) already, in one write: a crash of the agent now loses nothing.
    expect(lines()).toBe(before + 2);
    store.upsert(b('c'));
    await new Promise((r) => setImmediate(r)); // nothing sent this turn: written at its end
    expect(lines()).toBe(before + 3);
    let synced = false;
    store.whenDurable(() => {
      synced = true;
    });
    clock.advance(10);
    await store.flush();
    expect(synced).toBe(true);
    await store.close();
    const { store: again } = await openAt(dir, clock);
    expect(again.lookup('sip:alice@example.com').map((x) => x.key)).toEqual(['a', 'b', 'c']);
    await again.close();
  });

  it('loses no change appended while a compaction is rewriting the file', async () => {
    const dir = await tempDir();
    const { store } = await openAt(dir, new ManualClock(T0), { compactMinLines: 20 });
    // Ten phones refreshing over and over: the log outgrows 4 × live lines, so compactions run,
    // each awaiting its writes while more refreshes (and an unregister) keep coming.
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 10; i++) store.upsert(b(`k${i}`, T0 + 600_000 + round));
      if (round === 39) store.remove('sip:alice@example.com', 'k3');
      // A few ms per round: the compaction's file writes (thread pool) get to finish between
      // rounds even on a loaded machine (one setImmediate was not always enough under CI load).
      await new Promise((r) => setTimeout(r, 3));
    }
    const live = () => store.lookup('sip:alice@example.com').map((x) => `${x.key}@${x.expiresAt - T0}`);
    const expected = live();
    expect(expected).toHaveLength(9);
    expect(expected.every((e) => e.endsWith('@600039'))).toBe(true);
    await store.close();
    const text = await readFile(join(dir, JOURNAL_FILE), 'utf8');
    expect(text.trim().split('\n').length).toBeLessThan(100); // it did compact (401 changes were appended)
    const { store: again, stats } = await openAt(dir);
    expect(stats).toMatchObject({ corrupt: 0, tornTail: false });
    expect(again.lookup('sip:alice@example.com').map((x) => `${x.key}@${x.expiresAt - T0}`)).toEqual(
      expected,
    );
    await again.close();
  });

  it('whenDurable calls back only once the change is on disk, one write for everyone waiting together', async () => {
    const dir = await tempDir();
    const { store } = await openAt(dir);
    const seen: string[] = [];
    const onDisk = async () =>
      (await readFile(join(dir, JOURNAL_FILE), 'utf8')).split('\n').filter((l) => l !== '').length;
    const before = await onDisk();
    store.upsert(b('192.0.2.1'));
    store.whenDurable((e) => seen.push(`a:${e === undefined ? 'ok' : 'err'}`));
    store.upsert(b('192.0.2.2'));
    store.whenDurable((e) => seen.push(`b:${e === undefined ? 'ok' : 'err'}`));
    expect(seen).toEqual([]); // never before the write
    await store.flush();
    expect(seen).toEqual(['a:ok', 'b:ok']);
    expect(await onDisk()).toBe(before + 2);
    // Without a journal, at once.
    const mem = MemoryLocationStore.inMemory();
    let called = false;
    mem.whenDurable(() => {
      called = true;
    });
    expect(called).toBe(true);
    await store.close();
  });

  it('survives kill -9 mid-write: a journal truncated mid-line reloads without the torn change', async () => {
    const dir = await tempDir();
    const { store } = await openAt(dir);
    store.upsert(b('one'));
    await store.flush();
    store.upsert(b('two'));
    await store.flush();
    await store.close();
    const path = join(dir, JOURNAL_FILE);
    const size = (await stat(path)).size;
    await truncate(path, size - 7);
    const { store: again, stats } = await openAt(dir);
    expect(stats.tornTail).toBe(true);
    expect(again.lookup('sip:alice@example.com').map((x) => x.key)).toEqual(['one']);
    // The reload rewrote the file, so the next append does not glue onto the torn bytes.
    again.upsert(b('three'));
    await again.close();
    const { store: third, stats: s3 } = await openAt(dir);
    expect(s3).toMatchObject({ corrupt: 0, tornTail: false });
    expect(third.lookup('sip:alice@example.com').map((x) => x.key)).toEqual(['one', 'three']);
    await third.close();
  });

  it('skips a corrupt line in the middle and keeps the rest', async () => {
    const dir = await tempDir();
    const lines = [
      encodeChange({ upserts: [b('a')], removals: [] }),
      '{"u":[{"a":"sip:alice@example.com","k":"x"}],"r":[]}\n',
      'garbage\n',
      encodeChange({ upserts: [b('c')], removals: [] }),
    ];
    await writeFile(join(dir, JOURNAL_FILE), lines.join(''));
    const { store, stats } = await openAt(dir);
    expect(stats).toEqual({ lines: 4, corrupt: 2, tornTail: false });
    expect(store.lookup('sip:alice@example.com').map((x) => x.key)).toEqual(['a', 'c']);
    await store.close();
  });

  it('ignores a leftover temp file from a compaction cut by a crash', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, `${JOURNAL_FILE}.tmp`), 'half a compac');
    await writeFile(join(dir, JOURNAL_FILE), encodeChange({ upserts: [b('a')], removals: [] }));
    const { store } = await openAt(dir);
    expect(store.count()).toBe(1);
    await store.close();
  });

  it('compacts when the log grows past the threshold: the file holds only live bindings', async () => {
    const dir = await tempDir();
    const { store } = await openAt(dir, new ManualClock(T0), { compactMinLines: 50 });
    for (let i = 0; i < 200; i++) {
      store.upsert(b('same', T0 + 600_000 + i));
      await store.flush();
    }
    const text = await readFile(join(dir, JOURNAL_FILE), 'utf8');
    expect(text.trim().split('\n').length).toBeLessThan(60);
    await store.close();
    const { store: again } = await openAt(dir);
    expect(again.lookup('sip:alice@example.com')[0]?.expiresAt).toBe(T0 + 600_000 + 199);
    await again.close();
  });

  it('never throws on random journal corruption and never loads more bindings than were written', async () => {
    const dir = await tempDir();
    const good = [
      encodeChange({ upserts: [b('a'), b('b')], removals: [] }),
      encodeChange({ upserts: [b('c')], removals: [{ aor: 'sip:alice@example.com', key: 'a' }] }),
      encodeChange({ upserts: [b('d')], removals: [] }),
    ].join('');
    const path = join(dir, JOURNAL_FILE);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(good.length), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }),
        fc.nat(good.length),
        async (flips, cut) => {
          const bytes = Buffer.from(good, 'utf8');
          for (const [pos, val] of flips) if (pos < bytes.length) bytes[pos] = val;
          await writeFile(path, bytes.subarray(0, cut));
          const { store } = await openAt(dir);
          expect(store.count()).toBeLessThanOrEqual(4);
          await store.close();
        },
      ),
      { numRuns: 150 },
    );
  });
});
