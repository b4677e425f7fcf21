import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTROL_CHARACTERS_MESSAGE } from '../../src/trpc/routers/inputs.js';
import { type SignedIn, startTestControlPlane, type TestControlPlane } from '../helpers/control-plane.js';
import { captureLogger, type TrpcErrorBody, trpcPost } from '../helpers/http.js';

const db = process.env['DATABASE_URL'] ? 'postgres' : 'pglite';

/** Words that only appear in database or driver errors. */
const LEAKS = /insert into|select |params|relation|syntax|violates|0x00|at .*\.(js|ts):\d+/i;

describe(`control characters in text inputs (${db})`, () => {
  let cp: TestControlPlane;
  let owner: SignedIn;
  let orgId: string;
  let siteId: string;
  beforeAll(async () => {
    cp = await startTestControlPlane();
    owner = await cp.operator('owner@nul.test');
    orgId = (await owner.api.organizations.create({ name: 'org' })).id;
    siteId = (await owner.api.sites.create({ organizationId: orgId, name: 'site' })).id;
  });
  afterAll(async () => {
    await cp?.close();
  });

  const cases: [string, string, () => unknown, string][] = [
    ['organizations.create', 'name', () => ({ name: 'evil\u0000corp' }), 'name'],
    ['sites.create', 'name', () => ({ organizationId: orgId, name: 'line\nbreak' }), 'name'],
    ['agents.create', 'name', () => ({ siteId, name: 'esc\u001b[31m' }), 'name'],
    ['auth.signIn', 'email', () => ({ email: 'a\u0000@nul.test', password: 'x' }), 'email'],
    ['auth.signIn', 'password', () => ({ email: 'a@nul.test', password: 'pw\u0000' }), 'password'],
    [
      'sites.setConfig',
      'a string deep in the policies',
      () => ({ siteId, policies: { allowedBodyTypes: ['application/sdp\u0000'] } }),
      'policies.allowedBodyTypes.0',
    ],
  ];

  it.each(cases)('%s (%s) → 400 with a typed issue, no database text', async (path, _what, input, field) => {
    const resp = await trpcPost(cp.url, path, input(), { cookie: owner.cookie });
    const text = await resp.text();
    expect(resp.status).toBe(400);
    const body = JSON.parse(text) as TrpcErrorBody;
    expect(body.error.data.code).toBe('BAD_REQUEST');
    expect(body.error.data.issues).toContainEqual(
      expect.objectContaining({ path: field, message: CONTROL_CHARACTERS_MESSAGE }),
    );
    expect(text).not.toMatch(LEAKS);
  });
});

describe(`internal errors (${db})`, () => {
  let cp: TestControlPlane;
  const log = captureLogger();
  beforeAll(async () => {
    cp = await startTestControlPlane({ logger: log.logger });
  });
  afterAll(async () => {
    await cp?.close();
  });

  it('a database failure answers 500 with a generic message and an error id; the log has the cause', async () => {
    const owner = await cp.operator('owner@broken.test');
    // Break the database under the API: organizations.create writes the audit log.
    await cp.database.db.execute(sql`ALTER TABLE audit_log RENAME TO audit_log_gone`);
    const resp = await trpcPost(cp.url, 'organizations.create', { name: 'boom' }, { cookie: owner.cookie });
    const text = await resp.text();
    expect(resp.status).toBe(500);
    expect(text).not.toMatch(LEAKS);
    expect(text).not.toContain('audit_log');
    const body = JSON.parse(text) as TrpcErrorBody;
    const errorId = body.error.data.errorId;
    expect(errorId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.error.message).toBe(`internal error (id ${errorId})`);
    expect(body.error.data).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', issues: null, domainCode: null });
    expect(body.error.data).not.toHaveProperty('stack');

    const logged = log.lines.find((l) => l['errorId'] === errorId);
    expect(logged).toMatchObject({ level: 50, msg: 'trpc error', path: 'organizations.create' });
    expect(JSON.stringify(logged)).toContain('audit_log');
  });
});
