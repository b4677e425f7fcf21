import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, TEST_PASSWORD, type TestControlPlane } from '../helpers/control-plane.js';
import { trpcPost } from '../helpers/http.js';

const db = process.env['DATABASE_URL'] ? 'postgres' : 'pglite';
const ADMIN = { email: 'admin@test.local', password: TEST_PASSWORD };

describe(`behind a trusted proxy (${db})`, () => {
  let cp: TestControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane({ trustedProxies: ['loopback'] });
  });
  afterAll(async () => {
    await cp?.close();
  });

  it('X-Forwarded-Proto: https marks the session cookie Secure; plain HTTP does not', async () => {
    const https = await trpcPost(cp.url, 'auth.signIn', ADMIN, { 'x-forwarded-proto': 'https' });
    expect(https.status).toBe(200);
    expect(https.headers.get('set-cookie')).toMatch(/; Secure(;|$)/);
    const http = await trpcPost(cp.url, 'auth.signIn', ADMIN, { 'x-forwarded-proto': 'http' });
    expect(http.headers.get('set-cookie')).not.toMatch(/Secure/);
  });

  it('X-Forwarded-For names the source that is throttled', async () => {
    for (let i = 0; i < 10; i++)
      await trpcPost(
        cp.url,
        'auth.signIn',
        { email: `x${i}@proxy.test`, password: 'wrong' },
        {
          'x-forwarded-for': '198.51.100.1',
        },
      );
    const blocked = await trpcPost(cp.url, 'auth.signIn', ADMIN, { 'x-forwarded-for': '198.51.100.1' });
    expect(blocked.status).toBe(429);
    // Another client behind the same proxy is not affected; a spoofed left-most entry is not believed.
    const other = await trpcPost(cp.url, 'auth.signIn', ADMIN, {
      'x-forwarded-for': '198.51.100.1, 192.0.2.9',
    });
    expect(other.status).toBe(200);
  });

  it('X-Forwarded-Host/-Proto make the expected origin of mutations', async () => {
    const resp = await trpcPost(cp.url, 'auth.signIn', ADMIN, {
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'fw.example.test',
      'x-forwarded-for': '192.0.2.10',
      origin: 'https://fw.example.test',
    });
    expect(resp.status).toBe(200);
    const direct = await trpcPost(cp.url, 'auth.signIn', ADMIN, {
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'fw.example.test',
      'x-forwarded-for': '192.0.2.10',
      origin: cp.url,
    });
    expect(direct.status).toBe(403);
  });
});

describe(`without trusted proxies (${db})`, () => {
  let cp: TestControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane();
  });
  afterAll(async () => {
    await cp?.close();
  });

  it('X-Forwarded-* from a client are ignored: no Secure by header, and no escaping the throttle', async () => {
    const forged = await trpcPost(cp.url, 'auth.signIn', ADMIN, { 'x-forwarded-proto': 'https' });
    expect(forged.headers.get('set-cookie')).not.toMatch(/Secure/);
    for (let i = 0; i < 10; i++)
      await trpcPost(
        cp.url,
        'auth.signIn',
        { email: `y${i}@proxy.test`, password: 'wrong' },
        {
          'x-forwarded-for': `198.51.100.${i}`,
        },
      );
    const blocked = await trpcPost(cp.url, 'auth.signIn', ADMIN, { 'x-forwarded-for': '192.0.2.99' });
    expect(blocked.status).toBe(429);
  });
});

describe(`Secure cookies by configuration (${db})`, () => {
  it('an https public URL or SIPWALL_SECURE_COOKIES marks the cookie Secure', async () => {
    for (const overrides of [{ publicUrl: 'https://fw.example.test' }, { secureCookies: true }]) {
      const cp = await startTestControlPlane(overrides);
      try {
        const resp = await trpcPost(cp.url, 'auth.signIn', ADMIN, { origin: 'https://fw.example.test' });
        if ('secureCookies' in overrides) {
          // No public URL: the origin must be the request's own.
          expect(resp.status).toBe(403);
          const own = await trpcPost(cp.url, 'auth.signIn', ADMIN);
          expect(own.headers.get('set-cookie')).toMatch(/; Secure(;|$)/);
        } else {
          expect(resp.status).toBe(200);
          expect(resp.headers.get('set-cookie')).toMatch(/; Secure(;|$)/);
        }
      } finally {
        await cp.close();
      }
    }
  });
});
