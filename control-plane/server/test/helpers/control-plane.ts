import { hashSecret } from '../../src/security/password.js';
import { createOperator, type OperatorView } from '../../src/db/queries/operators.js';
import { addMembership } from '../../src/db/queries/organizations.js';
import type { Role } from '../../src/db/schema/index.js';
import { silentLogger } from '../../src/logger.js';
import { type ControlPlane, type ControlPlaneOptions, startControlPlane } from '../../src/server.js';
import { createContext } from '../../src/trpc/context.js';
import { createCaller } from '../../src/trpc/root.js';
import { createTestDatabase, type TestDatabase } from './db.js';

/** A control plane on loopback, port 0 everywhere, with a per-file database. */
export interface TestControlPlane extends ControlPlane {
  testDb: TestDatabase;
  /** A tRPC caller carrying the given session cookie (or none). */
  caller(cookie?: string): Promise<ReturnType<typeof createCaller>>;
  /** Creates an operator and returns a caller signed in as them (through auth.signIn). */
  operator(email: string, memberships?: { organizationId: string; role: Role }[]): Promise<SignedIn>;
  close(): Promise<void>;
}

export interface SignedIn {
  operator: OperatorView;
  cookie: string;
  api: ReturnType<typeof createCaller>;
}

export const TEST_PASSWORD = 'correct horse battery staple';

export async function startTestControlPlane(
  overrides: Partial<ControlPlaneOptions> = {},
): Promise<TestControlPlane> {
  const testDb = await createTestDatabase();
  let cp: ControlPlane;
  try {
    cp = await startControlPlane({
      host: '127.0.0.1',
      port: 0,
      database: testDb.target,
      broker: { kind: 'embedded', port: 0 },
      admin: { email: 'admin@test.local', password: TEST_PASSWORD },
      dataDir: null,
      logger: silentLogger(),
      ...overrides,
    });
  } catch (e) {
    await testDb.drop();
    throw e;
  }
  const caller = async (cookie?: string) =>
    createCaller(await createContext(cp.api, { headers: new Headers(cookie ? { cookie } : {}) }));
  return {
    ...cp,
    testDb,
    caller,
    async operator(email, memberships = []) {
      const operator = await createOperator(cp.database.db, {
        email,
        name: email.split('@')[0]!,
        passwordHash: await hashSecret(TEST_PASSWORD),
      });
      for (const m of memberships) await addMembership(cp.database.db, { operatorId: operator.id, ...m });
      const resHeaders = new Headers();
      const anon = createCaller(await createContext(cp.api, { headers: new Headers() }, resHeaders));
      await anon.auth.signIn({ email, password: TEST_PASSWORD });
      const setCookie = resHeaders.get('set-cookie') ?? '';
      const cookie = setCookie.split(';')[0]!;
      return { operator, cookie, api: await caller(cookie) };
    },
    async close() {
      await cp.stop();
      await testDb.drop();
    },
  };
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes (bounded wait). */
export async function waitFor<T>(
  probe: () => Promise<T>,
  timeoutMs = 5_000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
