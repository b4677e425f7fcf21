import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../helpers/control-plane.js';
import { rawPost, type TrpcErrorBody, trpcPost } from '../helpers/http.js';

const MiB = 1024 * 1024;

describe(`request body limit (${process.env['DATABASE_URL'] ? 'postgres' : 'pglite'})`, () => {
  let cp: TestControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane();
  });
  afterAll(async () => {
    await cp?.close();
  });

  it('a 2 MiB signIn body with Content-Length → 413 PAYLOAD_TOO_LARGE (typed), not parsed', async () => {
    const resp = await trpcPost(cp.url, 'auth.signIn', { email: 'a@b.test', password: 'x'.repeat(2 * MiB) });
    expect(resp.status).toBe(413);
    const body = (await resp.json()) as TrpcErrorBody;
    expect(body.error.data).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', domainCode: 'payload-too-large' });
  });

  it('a 100 MB Content-Length is refused at once, without waiting for (or reading) the body', async () => {
    const got = await rawPost(`${cp.url}/trpc/auth.signIn`, {
      headers: { 'content-type': 'application/json', 'content-length': 100 * 1000 * 1000 },
      chunk: Buffer.alloc(16 * 1024, 0x61),
      maxBytes: 64 * 1024,
      hang: true,
      timeoutMs: 5_000,
    });
    expect(got.status).toBe(413);
  });

  it('a chunked body without Content-Length is cut as soon as it passes the limit', async () => {
    const got = await rawPost(`${cp.url}/trpc/auth.signIn`, {
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      chunk: Buffer.alloc(64 * 1024, 0x61),
      maxBytes: 32 * MiB,
      hang: true,
      timeoutMs: 10_000,
    });
    expect(got.status).toBe(413);
    expect(JSON.parse(got.body)).toMatchObject({ error: { data: { code: 'PAYLOAD_TOO_LARGE' } } });
    // Answered long before the 32 MiB were sent (the socket buffers a little past the limit).
    expect(got.bytesWritten).toBeLessThan(8 * MiB);
    // A chunked body under the limit still reaches tRPC whole.
    const json = Buffer.from(JSON.stringify({ email: 'nobody@limit.test', password: 'wrong' }));
    const small = await rawPost(`${cp.url}/trpc/auth.signIn`, {
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      chunk: json,
      maxBytes: json.length,
    });
    expect(small.status).toBe(401);
  });

  it('applies to every route, not only /trpc', async () => {
    for (const path of ['/api/anything', '/some/dashboard/route', '/healthz']) {
      // node:http rather than fetch: the server answers and closes while fetch would still be writing.
      const got = await rawPost(`${cp.url}${path}`, {
        headers: { 'content-type': 'text/plain', 'content-length': 2 * MiB },
        chunk: Buffer.alloc(64 * 1024, 0x61),
        maxBytes: 2 * MiB,
      });
      expect(got.status, path).toBe(413);
      expect(JSON.parse(got.body)).toMatchObject({ error: 'payload-too-large' });
    }
  });
});

describe('request body limit is configurable (maxBodyBytes)', () => {
  let cp: TestControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane({ maxBodyBytes: 4096 });
  });
  afterAll(async () => {
    await cp?.close();
  });

  it('4 KiB: a 5 KiB mutation → 413, a small one passes', async () => {
    const owner = await cp.operator('owner@limit.test');
    const big = await trpcPost(
      cp.url,
      'organizations.create',
      { name: 'n', pad: 'x'.repeat(5000) },
      { cookie: owner.cookie },
    );
    expect(big.status).toBe(413);
    const small = await trpcPost(cp.url, 'organizations.create', { name: 'small' }, { cookie: owner.cookie });
    expect(small.status).toBe(200);
  });
});
