import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DatabaseTarget } from '../../src/db/client.js';

/** A database for one test file, and how to get rid of it. */
export interface TestDatabase {
  target: DatabaseTarget;
  /** Backend name, for test titles. */
  kind: 'pglite' | 'postgres';
  drop(): Promise<void>;
}

/**
 * Picks the backend from env: with `DATABASE_URL`, a fresh Postgres database per call
 * (`sipwall_t_<random>`, dropped WITH (FORCE) afterwards); otherwise in-memory PGlite.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const base = process.env['DATABASE_URL'];
  if (!base) return { kind: 'pglite', target: { kind: 'pglite', dataDir: 'memory' }, drop: async () => {} };
  const name = `sipwall_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    kind: 'postgres',
    target: { kind: 'postgres', url: url.toString() },
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
