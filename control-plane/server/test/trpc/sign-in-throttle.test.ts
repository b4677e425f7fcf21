import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECURITY_ACTIONS } from '../../src/db/queries/audit.js';
import { auditLog } from '../../src/db/schema/index.js';
import { startTestControlPlane, TEST_PASSWORD, type TestControlPlane } from '../helpers/control-plane.js';
import { captureLogger, sessionCookieOf, type TrpcErrorBody, trpcBatch, trpcPost } from '../helpers/http.js';

const WRONG = 'wrong-password-guess-4711';

/** The control plane trusts 127.0.0.1 as a proxy, so `X-Forwarded-For` names the source. */
const from = (ip: string) => ({ 'x-forwarded-for': ip });

describe(`sign-in throttling (${process.env['DATABASE_URL'] ? 'postgres' : 'pglite'})`, () => {
  let cp: TestControlPlane;
  let now = Date.now();
  const log = captureLogger();

  beforeAll(async () => {
    cp = await startTestControlPlane({
      trustedProxies: ['127.0.0.1'],
      clock: () => new Date(now),
      logger: log.logger,
    });
  });
  afterAll(async () => {
    await cp?.close();
  });

  const signIn = (email: string, password: string, ip: string) =>
    trpcPost(cp.url, 'auth.signIn', { email, password }, from(ip));

  it('a batch of 50 wrong passwords from one source: each call counts; the rest are 429 + Retry-After', async () => {
    await cp.operator('batch@throttle.test');
    // One account: its limit (5 failures) stops the batch.
    const oneAccount = Array.from({ length: 50 }, (_, i): [string, unknown] => [
      'auth.signIn',
      { email: 'batch@throttle.test', password: `${WRONG}-${i}` },
    ]);
    const resp = await trpcBatch(cp.url, oneAccount, from('198.51.100.10'));
    const codes = ((await resp.json()) as TrpcErrorBody[]).map((r) => r.error.data.code);
    expect(codes.filter((c) => c === 'UNAUTHORIZED')).toHaveLength(5);
    expect(codes.filter((c) => c === 'TOO_MANY_REQUESTS')).toHaveLength(45);
    const retryAfter = Number(resp.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    // The checked attempts are security events; the refusal is stored once, not 45 times.
    const rows = (await cp.database.db.select().from(auditLog)).filter(
      (r) => r.target === 'batch@throttle.test',
    );
    expect(rows.filter((r) => r.action === SECURITY_ACTIONS.signInFailed)).toHaveLength(5);
    expect(rows.filter((r) => r.action === SECURITY_ACTIONS.signInThrottled)).toHaveLength(1);

    // Fifty accounts: the source's limit (10 failures) stops it.
    const manyAccounts = Array.from({ length: 50 }, (_, i): [string, unknown] => [
      'auth.signIn',
      { email: `spray${i}@throttle.test`, password: WRONG },
    ]);
    const spray = await trpcBatch(cp.url, manyAccounts, from('198.51.100.12'));
    const sprayCodes = ((await spray.json()) as TrpcErrorBody[]).map((r) => r.error.data.code);
    expect(sprayCodes.filter((c) => c === 'UNAUTHORIZED')).toHaveLength(10);
    expect(sprayCodes.filter((c) => c === 'TOO_MANY_REQUESTS')).toHaveLength(40);
  });

  it('a batch of 200 sign-ins is refused whole (tRPC maxBatchSize): none is checked', async () => {
    const calls = Array.from({ length: 200 }, (): [string, unknown] => [
      'auth.signIn',
      { email: 'nobody@throttle.test', password: WRONG },
    ]);
    const resp = await trpcBatch(cp.url, calls, from('198.51.100.11'));
    expect(resp.status).toBe(400);
    const rows = (await cp.database.db.select().from(auditLog)).filter(
      (r) => r.target === 'nobody@throttle.test',
    );
    expect(rows).toHaveLength(0);
  });

  it('sequential guessing: the 11th attempt from a source is 429, even with the right password, until the window passes', async () => {
    await cp.operator('seq@throttle.test');
    const ip = '198.51.100.20';
    // Spread over accounts so only the per-source limit is at work.
    for (let i = 0; i < 10; i++) {
      const resp = await signIn(`victim${i}@throttle.test`, WRONG, ip);
      expect(resp.status).toBe(401);
    }
    const refused = await signIn('seq@throttle.test', TEST_PASSWORD, ip);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await refused.json()) as TrpcErrorBody).error.data).toMatchObject({
      code: 'TOO_MANY_REQUESTS',
      domainCode: 'rate-limited',
    });
    now += 15 * 60 * 1000 + 1000;
    const later = await signIn('seq@throttle.test', TEST_PASSWORD, ip);
    expect(later.status).toBe(200);
  });

  it('an attacked account stays open to its operator: a clean source with the right password gets in', async () => {
    await cp.operator('target@throttle.test');
    // Three attacking addresses, each well under its own limit, push the account over its limit (5).
    for (const [ip, n] of [
      ['203.0.113.1', 2],
      ['203.0.113.2', 2],
      ['203.0.113.3', 1],
    ] as const) {
      for (let i = 0; i < n; i++) expect((await signIn('target@throttle.test', WRONG, ip)).status).toBe(401);
    }
    // A source that already failed is refused for this account, even with the right password.
    const dirty = await signIn('target@throttle.test', TEST_PASSWORD, '203.0.113.1');
    expect(dirty.status).toBe(429);
    // A fresh attacking address gets one check, then it is dirty too.
    expect((await signIn('target@throttle.test', WRONG, '203.0.113.4')).status).toBe(401);
    expect((await signIn('target@throttle.test', WRONG, '203.0.113.4')).status).toBe(429);
    // The operator, from an address that has not failed, signs in.
    const operator = await signIn('target@throttle.test', TEST_PASSWORD, '192.0.2.50');
    expect(operator.status).toBe(200);
    expect(sessionCookieOf(operator)).toMatch(/^sipwall_session=.+/);
    // Their success clears the account's failures: checks resume for sources under their own limit.
    expect((await signIn('target@throttle.test', WRONG, '203.0.113.2')).status).toBe(401);
  });

  it('failures are logged without the password and listed as security events of the account', async () => {
    const owner = await cp.operator('logged@throttle.test');
    const secret = 'Tr0ub4dor&3-not-the-password';
    expect((await signIn('logged@throttle.test', secret, '192.0.2.77')).status).toBe(401);
    expect((await signIn('ghost@throttle.test', secret, '192.0.2.77')).status).toBe(401);

    const lines = log.lines.filter((l) => l['msg'] === 'sign-in failed' && l['ip'] === '192.0.2.77');
    expect(lines).toEqual([
      expect.objectContaining({ level: 40, email: 'logged@throttle.test', reason: 'wrong-password' }),
      expect.objectContaining({ level: 40, email: 'ghost@throttle.test', reason: 'unknown-account' }),
    ]);
    expect(JSON.stringify(log.lines)).not.toContain(secret);

    const events = await owner.api.auth.securityEvents();
    expect(events).toEqual([
      expect.objectContaining({
        action: SECURITY_ACTIONS.signInFailed,
        detail: { ip: '192.0.2.77', reason: 'wrong-password' },
      }),
    ]);
    expect(JSON.stringify(events)).not.toContain(secret);
  });
});
