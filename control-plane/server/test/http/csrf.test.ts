import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedIn, startTestControlPlane, type TestControlPlane } from '../helpers/control-plane.js';
import { type TrpcErrorBody, trpcPost } from '../helpers/http.js';

const db = process.env['DATABASE_URL'] ? 'postgres' : 'pglite';

async function refusal(resp: Response) {
  expect(resp.status).toBe(403);
  return ((await resp.json()) as TrpcErrorBody).error.data;
}

describe(`CSRF guard on tRPC mutations (${db})`, () => {
  let cp: TestControlPlane;
  let alice: SignedIn;
  beforeAll(async () => {
    cp = await startTestControlPlane();
    alice = await cp.operator('alice@csrf.test');
  });
  afterAll(async () => {
    await cp?.close();
  });

  it('a multipart/form-data signOut (what a cross-site <form> can send) is refused; the session survives', async () => {
    const form = new FormData();
    form.set('x', '1');
    const resp = await fetch(`${cp.url}/trpc/auth.signOut`, {
      method: 'POST',
      headers: { cookie: alice.cookie },
      body: form,
    });
    expect(await refusal(resp)).toMatchObject({ code: 'FORBIDDEN', domainCode: 'csrf-content-type' });
    expect(await (await cp.caller(alice.cookie)).auth.me()).toMatchObject({ email: 'alice@csrf.test' });
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream'])(
    'a mutation sent as %s is refused',
    async (contentType) => {
      const resp = await trpcPost(
        cp.url,
        'organizations.create',
        { name: 'x' },
        {
          cookie: alice.cookie,
          'content-type': contentType,
        },
      );
      expect(await refusal(resp)).toMatchObject({ domainCode: 'csrf-content-type' });
    },
  );

  it('a foreign Origin is refused; the request’s own origin passes', async () => {
    const evil = await trpcPost(
      cp.url,
      'organizations.create',
      { name: 'evil' },
      {
        cookie: alice.cookie,
        origin: 'https://evil.example',
      },
    );
    expect(await refusal(evil)).toMatchObject({ code: 'FORBIDDEN', domainCode: 'csrf-origin' });
    const nullOrigin = await trpcPost(
      cp.url,
      'organizations.create',
      { name: 'sandboxed' },
      {
        cookie: alice.cookie,
        origin: 'null',
      },
    );
    expect(await refusal(nullOrigin)).toMatchObject({ domainCode: 'csrf-origin' });
    const own = await trpcPost(
      cp.url,
      'organizations.create',
      { name: 'own' },
      {
        cookie: alice.cookie,
        origin: cp.url,
        'sec-fetch-site': 'same-origin',
      },
    );
    expect(own.status).toBe(200);
    expect((await alice.api.organizations.list()).map((o) => o.name)).toEqual(['own']);
  });

  it('Sec-Fetch-Site cross-site or same-site without Origin is refused; GET queries stay usable', async () => {
    for (const site of ['cross-site', 'same-site']) {
      const resp = await trpcPost(cp.url, 'auth.signOut', undefined, {
        cookie: alice.cookie,
        'sec-fetch-site': site,
      });
      expect(await refusal(resp)).toMatchObject({ domainCode: 'csrf-origin' });
    }
    // The dashboard's queries are GETs: not guarded, and the session is still there.
    const resp = await fetch(`${cp.url}/trpc/auth.me,organizations.list?batch=1&input=%7B%7D`, {
      headers: { cookie: alice.cookie, 'sec-fetch-site': 'same-origin' },
    });
    expect(resp.status).toBe(200);
    const [me] = (await resp.json()) as { result: { data: { email: string } | null } }[];
    expect(me?.result.data?.email).toBe('alice@csrf.test');
  });
});

describe(`CSRF guard with a public URL (${db})`, () => {
  let cp: TestControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane({ publicUrl: 'https://fw.example.test' });
  });
  afterAll(async () => {
    await cp?.close();
  });

  it('only the public origin passes, not the Host the request happened to use', async () => {
    const owner = await cp.operator('owner@public.test');
    const direct = await trpcPost(
      cp.url,
      'organizations.create',
      { name: 'direct' },
      {
        cookie: owner.cookie,
        origin: cp.url,
      },
    );
    expect(await refusal(direct)).toMatchObject({ domainCode: 'csrf-origin' });
    const viaPublic = await trpcPost(
      cp.url,
      'organizations.create',
      { name: 'public' },
      {
        cookie: owner.cookie,
        origin: 'https://fw.example.test',
      },
    );
    expect(viaPublic.status).toBe(200);
  });
});
