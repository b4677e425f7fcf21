import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { MemoryLocationStore } from '../../src/registrar/location-store.js';
import { ManualClock } from '../../src/util/clock.js';
import { beforeSend } from '../../src/util/send-barrier.js';
import { aBinding, T0 } from './register-fixtures.js';

// The disk "fills up" while `failing` is set: every synchronous write of the journal throws ENOSPC.
const disk = vi.hoisted(() => ({ failing: false }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    writeSync: (...args: Parameters<typeof fs.writeSync>) => {
      if (disk.failing)
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return fs.writeSync(...args);
    },
  };
});

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('journal write failure', () => {
  it('keeps serving from memory, reports once per failing spell, and rewrites the whole state', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sipwall-journal-fail-'));
    dirs.push(dir);
    const errors: unknown[] = [];
    const clock = new ManualClock(T0);
    const { store } = await MemoryLocationStore.open(clock, {
      journal: { dir, groupCommitMs: 10, onWriteError: (e) => errors.push(e) },
    });
    const b = (key: string) => aBinding({ key, contact: key, expiresAt: T0 + 600_000 });
    store.upsert(b('sip:alice@192.0.2.1'));
    disk.failing = true;
    // Neither throws: memory stays authoritative, the phones stay registered.
    store.upsert(b('sip:alice@192.0.2.2'));
    store.upsert(b('sip:alice@192.0.2.3'));
    expect(store.lookup('sip:alice@example.com')).toHaveLength(3);
    beforeSend(); // the turn's write, as before a 200 goes out: it fails
    expect(errors).toHaveLength(1); // one report, not one per REGISTER
    expect(String((errors[0] as Error).message)).toMatch(/cannot append to .*bindings\.jsonl/);
    // The failed append queued a compaction: it rewrites the live set through its own file.
    await store.flush();
    store.upsert(b('sip:alice@192.0.2.4'));
    await new Promise((r) => setImmediate(r)); // written at the end of the turn: fails again, a new spell
    expect(errors).toHaveLength(2);
    disk.failing = false;
    store.upsert(b('sip:alice@192.0.2.5'));
    await store.flush();
    await store.close();
    const { store: again } = await MemoryLocationStore.open(new ManualClock(T0), { journal: { dir } });
    expect(
      again
        .lookup('sip:alice@example.com')
        .map((x) => x.key)
        .sort(),
    ).toEqual([
      'sip:alice@192.0.2.1',
      'sip:alice@192.0.2.2',
      'sip:alice@192.0.2.3',
      'sip:alice@192.0.2.4',
      'sip:alice@192.0.2.5',
    ]);
    await again.close();
  });
});
