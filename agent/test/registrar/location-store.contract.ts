import { describe, expect, it } from 'vitest';
import type { Binding } from '../../src/registrar/binding.js';
import type { LocationStore } from '../../src/registrar/location-store.js';
import { aBinding, T0 } from './register-fixtures.js';

/** The LocationStore contract, run against every implementation (STYLE §3.8 contract suites). */
export function locationStoreContract(name: string, makeStore: () => Promise<LocationStore>): void {
  describe(`LocationStore contract: ${name}`, () => {
    const b = (aor: string, key: string, over: Partial<Binding> = {}) =>
      aBinding({ aor, key, contact: key, ...over });

    it('starts empty', async () => {
      const s = await makeStore();
      expect(s.count()).toBe(0);
      expect(s.lookup('sip:alice@example.com')).toEqual([]);
      expect([...s.all()]).toEqual([]);
      await s.close();
    });

    it('upserts, looks up by AOR and replaces by key', async () => {
      const s = await makeStore();
      s.upsert(b('sip:alice@example.com', 'k1'));
      s.upsert(b('sip:alice@example.com', 'k2'));
      s.upsert(b('sip:bob@example.com', 'k1'));
      expect(s.count()).toBe(3);
      expect(s.lookup('sip:alice@example.com').map((x) => x.key)).toEqual(['k1', 'k2']);
      s.upsert(b('sip:alice@example.com', 'k1', { cseq: 9 }));
      expect(s.count()).toBe(3);
      expect(s.lookup('sip:alice@example.com').find((x) => x.key === 'k1')?.cseq).toBe(9);
      await s.close();
    });

    it('removes by AOR and key, returning the binding once', async () => {
      const s = await makeStore();
      s.upsert(b('sip:alice@example.com', 'k1'));
      expect(s.remove('sip:alice@example.com', 'k1')?.key).toBe('k1');
      expect(s.remove('sip:alice@example.com', 'k1')).toBeUndefined();
      expect(s.count()).toBe(0);
      expect(s.lookup('sip:alice@example.com')).toEqual([]);
      await s.close();
    });

    it('applies a change set with removals and upserts together', async () => {
      const s = await makeStore();
      s.upsert(b('sip:alice@example.com', 'old'));
      const removed = s.apply({
        upserts: [b('sip:alice@example.com', 'new')],
        removals: [
          { aor: 'sip:alice@example.com', key: 'old' },
          { aor: 'sip:alice@example.com', key: 'never' },
        ],
      });
      expect(removed.map((x) => x.key)).toEqual(['old']);
      expect(s.lookup('sip:alice@example.com').map((x) => x.key)).toEqual(['new']);
      await s.close();
    });

    it('expires bindings at their expiry and reports each once; a refresh postpones it', async () => {
      const s = await makeStore();
      s.upsert(b('sip:alice@example.com', 'short', { expiresAt: T0 + 1000 }));
      s.upsert(b('sip:alice@example.com', 'long', { expiresAt: T0 + 5000 }));
      s.upsert(b('sip:bob@example.com', 'refreshed', { expiresAt: T0 + 1000 }));
      s.upsert(b('sip:bob@example.com', 'refreshed', { expiresAt: T0 + 9000 }));
      expect(s.expire(T0 + 999)).toEqual([]);
      expect(s.expire(T0 + 1000).map((x) => x.key)).toEqual(['short']);
      expect(s.expire(T0 + 1000)).toEqual([]);
      expect(s.expire(T0 + 5000).map((x) => x.key)).toEqual(['long']);
      expect(s.count()).toBe(1);
      expect(s.expire(T0 + 9000).map((x) => x.key)).toEqual(['refreshed']);
      expect(s.count()).toBe(0);
      await s.close();
    });

    it('does not expire a binding that was removed and re-added with a later expiry', async () => {
      const s = await makeStore();
      s.upsert(b('sip:a@example.com', 'k', { expiresAt: T0 + 10 }));
      s.remove('sip:a@example.com', 'k');
      s.upsert(b('sip:a@example.com', 'k', { expiresAt: T0 + 100 }));
      expect(s.expire(T0 + 50)).toEqual([]);
      expect(s.count()).toBe(1);
      await s.close();
    });

    it('lists every binding in all()', async () => {
      const s = await makeStore();
      for (let i = 0; i < 50; i++) s.upsert(b(`sip:u${i % 7}@example.com`, `k${i}`));
      expect([...s.all()]).toHaveLength(50);
      expect(s.count()).toBe(50);
      await s.flush();
      await s.close();
    });
  });
}
