import { describe, expect, it } from 'vitest';
import type { AdminAccess } from '../../src/admin/access.js';
import { createAdminApp } from '../../src/admin/app.js';
import type { AgentHealth } from '../../src/admin/health.js';
import { pageFromFirst } from '../../src/admin/paging.js';
import type { RegistrationRow } from '../../src/registrar/registration-view.js';

const PORT = 9090;
const loopback: AdminAccess = { bound: () => ({ address: '127.0.0.1', port: PORT }) };
/** `app.request` with the Host a browser on the agent's own address sends. */
const get = (app: ReturnType<typeof createAdminApp>, path: string, headers: Record<string, string> = {}) =>
  app.request(`http://127.0.0.1:${PORT}${path}`, { headers: { host: `127.0.0.1:${PORT}`, ...headers } });

const health: AgentHealth = {
  site: 'hq',
  version: '0.1.0',
  controlPlane: 'connected',
  appliedVersion: 7,
  sip: [{ interface: 'inside', role: 'inside', transport: 'udp', address: '127.0.0.1', port: 5060 }],
  desiredApplied: 2,
  desiredRejected: 1,
  desiredReverted: 2,
};

it('GET /healthz reports site, link state, applied version and listeners', async () => {
  const res = await get(
    createAdminApp(() => health, {}, loopback),
    '/healthz',
  );
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({
    status: 'ok',
    site: 'hq',
    version: '0.1.0',
    controlPlane: 'connected',
    appliedVersion: 7,
    sip: health.sip,
  });
});

it('GET /metrics renders Prometheus text', async () => {
  const res = await get(
    createAdminApp(() => ({ ...health, controlPlane: 'disconnected', appliedVersion: null }), {}, loopback),
    '/metrics',
  );
  expect(res.headers.get('content-type')).toContain('text/plain');
  const text = await res.text();
  expect(text).toContain('sipwall_agent_up 1');
  expect(text).toContain('sipwall_agent_config_applied_version 0');
  expect(text).toContain('sipwall_agent_mqtt_connected 0');
  expect(text).toContain('sipwall_agent_desired_rejected_total 1');
  expect(text).toContain('sipwall_agent_desired_reverted_total 2');
  expect(text).toContain('sipwall_agent_info{version="0.1.0",site="hq"} 1');
  // the process's memory: RSS and the V8 heap, each a positive byte count
  for (const name of [
    'process_resident_memory_bytes',
    'nodejs_heap_size_total_bytes',
    'nodejs_heap_size_used_bytes',
  ]) {
    expect(Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1])).toBeGreaterThan(1024 * 1024);
  }
});

it('GET /metrics shows the telemetry outbox: depth, bytes, dropped, acked, batches (none when standalone)', async () => {
  const outbox = {
    depth: 12,
    dropped: 3,
    diskBytes: 4096,
    inFlightBatches: 1,
    batchesSent: 5,
    batchesResent: 2,
    recordsAcked: 40,
  };
  const text = await (
    await get(
      createAdminApp(() => ({ ...health, outbox }), {}, loopback),
      '/metrics',
    )
  ).text();
  expect(text).toContain('sipwall_agent_outbox_depth 12');
  expect(text).toContain('sipwall_agent_outbox_bytes 4096');
  expect(text).toContain('sipwall_agent_outbox_dropped_total 3');
  expect(text).toContain('sipwall_agent_outbox_acked_total 40');
  expect(text).toContain('sipwall_agent_outbox_batches_total{attempt="again"} 2');
  const standalone = await (
    await get(
      createAdminApp(() => health, {}, loopback),
      '/metrics',
    )
  ).text();
  expect(standalone).not.toContain('sipwall_agent_outbox');
});

it('GET /metrics shows registrar gauges and GET /registrations lists rows', async () => {
  const app = createAdminApp(
    () => ({ ...health, registrar: { main: 3, passive: 1, blockedSources: 2 } }),
    {
      registrations: (page) =>
        pageFromFirst(
          1,
          [
            {
              aor: 'sip:alice@example.com',
              contact: 'sip:alice@10.0.0.5:5060',
              expiresSec: 120,
              flow: { transport: 'udp', source: '192.0.2.1:40000' },
              instanceId: null,
              regId: null,
              mode: 'passive',
              registeredAt: 0,
              userAgent: 'Yealink SIP-T46U 108.86.0.20',
            },
          ],
          page,
        ),
    },
    loopback,
  );
  const metrics = await (await get(app, '/metrics')).text();
  expect(metrics).toContain('sipwall_agent_registrations{mode="main"} 3');
  expect(metrics).toContain('sipwall_agent_blocked_sources 2');
  const body = (await (await get(app, '/registrations')).json()) as {
    count: number;
    registrations: { mode: string; userAgent: string | null }[];
  };
  expect(body.count).toBe(1);
  expect(body.registrations[0]!.mode).toBe('passive');
  expect(body.registrations[0]!.userAgent).toBe('Yealink SIP-T46U 108.86.0.20');
});

it('GET /metrics shows proxy gauges and GET /calls lists active calls', async () => {
  const app = createAdminApp(
    () => ({
      ...health,
      proxy: {
        activeCalls: 2,
        forwarded: 10,
        rejected: 3,
        acksForwarded: 4,
        statelessForwarded: 0,
        callsRefused: 1,
      },
    }),
    {
      calls: (page) =>
        pageFromFirst(
          1,
          [
            {
              callId: 'c1',
              from: 'sip:alice@example.test',
              to: 'sip:bob@example.test',
              direction: 'internal',
              state: 'confirmed',
              startedAt: '2026-12-06T00:00:00.000Z',
              answeredAt: '2026-12-06T00:00:01.000Z',
              durationSec: 5,
            },
          ],
          page,
        ),
    },
    loopback,
  );
  const metrics = await (await get(app, '/metrics')).text();
  expect(metrics).toContain('sipwall_agent_active_calls 2');
  expect(metrics).toContain('sipwall_agent_proxy_requests_total{outcome="rejected"} 3');
  expect(metrics).toContain('sipwall_agent_calls_refused_total 1');
  const body = (await (await get(app, '/calls')).json()) as { count: number; calls: { callId: string }[] };
  expect(body.count).toBe(1);
  expect(body.calls[0]!.callId).toBe('c1');
});

describe('admin guard: Host check (DNS rebinding) and bearer token', () => {
  const app = createAdminApp(() => health, {}, loopback);

  it('refuses a Host the agent is not (a rebound attacker name) with 421, and a wrong port', async () => {
    for (const host of ['attacker.example', `attacker.example:${PORT}`, '127.0.0.1:9091', '127.0.0.1', '']) {
      const res = await app.request('/healthz', { headers: { host } });
      expect([host, res.status]).toEqual([host, 421]);
    }
  });

  it('accepts its own address, loopback literals and localhost, each with its port', async () => {
    for (const host of [
      `127.0.0.1:${PORT}`,
      `localhost:${PORT}`,
      `LOCALHOST:${PORT}`,
      `[::1]:${PORT}`,
      `127.0.0.2:${PORT}`,
    ]) {
      const res = await app.request('/healthz', { headers: { host } });
      expect([host, res.status]).toEqual([host, 200]);
    }
  });

  it('bound to one address beyond loopback, accepts that address only (and localhost)', async () => {
    const lan = createAdminApp(
      () => health,
      {},
      { bound: () => ({ address: '192.0.2.1', port: PORT }), token: 't'.repeat(16) },
    );
    const auth = { authorization: `Bearer ${'t'.repeat(16)}` };
    expect((await lan.request('/healthz', { headers: { host: `192.0.2.1:${PORT}`, ...auth } })).status).toBe(
      200,
    );
    expect((await lan.request('/healthz', { headers: { host: `192.0.2.2:${PORT}`, ...auth } })).status).toBe(
      421,
    );
    expect((await lan.request('/healthz', { headers: { host: `127.0.0.1:${PORT}`, ...auth } })).status).toBe(
      421,
    );
  });

  it('with a token, every route needs Authorization: Bearer <token> (401 + WWW-Authenticate otherwise)', async () => {
    const token = 'correct-horse-battery-staple';
    const guarded = createAdminApp(() => health, {}, { ...loopback, token });
    for (const path of ['/healthz', '/metrics', '/registrations', '/calls', '/sessions']) {
      const none = await get(guarded, path);
      expect([path, none.status]).toEqual([path, 401]);
      expect(none.headers.get('www-authenticate')).toContain('Bearer');
      expect((await get(guarded, path, { authorization: 'Bearer wrong-token-of-some-length' })).status).toBe(
        401,
      );
      expect((await get(guarded, path, { authorization: `Basic ${token}` })).status).toBe(401);
      expect((await get(guarded, path, { authorization: `Bearer ${token}` })).status).toBe(200);
    }
  });
});

describe('admin listings are paged', () => {
  const row = (i: number): RegistrationRow => ({
    aor: `sip:u${i}@example.com`,
    contact: `sip:u${i}@10.0.0.1`,
    expiresSec: 60,
    flow: { transport: 'udp', source: '10.0.0.1:5060' },
    instanceId: null,
    regId: null,
    mode: 'main',
    registeredAt: 0,
    userAgent: null,
  });
  const all = Array.from({ length: 25 }, (_, i) => row(i));
  const app = createAdminApp(
    () => health,
    { registrations: (page) => pageFromFirst(all.length, all, page) },
    loopback,
  );

  it('walks every row once with ?limit= and ?cursor=, with the total on each page', async () => {
    const seen: string[] = [];
    let cursor: string | null = '0';
    let pages = 0;
    while (cursor !== null) {
      const res = await get(app, `/registrations?limit=10&cursor=${cursor}`);
      const body = (await res.json()) as {
        total: number;
        count: number;
        nextCursor: string | null;
        registrations: RegistrationRow[];
      };
      expect(body.total).toBe(25);
      expect(body.count).toBe(body.registrations.length);
      seen.push(...body.registrations.map((r) => r.aor));
      cursor = body.nextCursor;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(all.map((r) => r.aor));
  });

  it('answers 400 for a limit out of 1..10000 or a cursor that is not one it gave', async () => {
    for (const q of ['limit=0', 'limit=10001', 'limit=abc', 'limit=1.5', 'cursor=-1', 'cursor=xyz']) {
      expect([q, (await get(app, `/registrations?${q}`)).status]).toEqual([q, 400]);
    }
    // Past the end: an empty page, not an error.
    const past = (await (await get(app, '/registrations?cursor=1000')).json()) as {
      total: number;
      count: number;
      nextCursor: null;
    };
    expect(past).toMatchObject({ total: 25, count: 0, nextCursor: null });
  });
});
