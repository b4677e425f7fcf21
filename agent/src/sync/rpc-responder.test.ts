import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import {
  decode,
  LiveCallsPageSchema,
  LiveRegistrationsPageSchema,
  RPC_MAX_PAGE_LIMIT,
  RpcReplySchema,
} from '@sipwall/shared';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { LogThrottle } from '../log/throttle.js';
import type { MediaSessionRow } from '../media/sessions.js';
import type { CallRow } from '../proxy/calls.js';
import type { RegistrationRow } from '../registrar/registration-view.js';
import { ManualClock } from '../util/clock.js';
import { createRpcResponder, decideRpc, encodePageReply, type RpcViews } from './rpc-responder.js';

const NOW = Date.parse('2026-12-06T10:00:00.000Z');
const request = (params: Record<string, unknown> = {}, deadlineMs = NOW + 5000, id = randomUUID()) =>
  JSON.stringify({ v: 1, id, params, deadline: new Date(deadlineMs).toISOString() });

function registrationRow(i: number): RegistrationRow {
  return {
    aor: `sip:${1000 + i}@example.com`,
    contact: `sip:${1000 + i}@192.0.2.${(i % 250) + 1}:5060;transport=udp`,
    expiresSec: 300,
    flow: { transport: 'udp', source: `192.0.2.${(i % 250) + 1}:5060` },
    instanceId: null,
    regId: null,
    mode: 'main',
    registeredAt: NOW - 60_000,
    userAgent: i === 0 ? null : `sipwall-test-phone/${i}`,
  };
}

const call: CallRow = {
  callId: 'c1@host',
  from: '<sip:1001@example.com>;tag=a',
  to: '<sip:1002@example.com>',
  direction: 'internal',
  state: 'confirmed',
  startedAt: new Date(NOW - 20_000).toISOString(),
  answeredAt: new Date(NOW - 15_000).toISOString(),
  durationSec: 15,
};
const session: MediaSessionRow = {
  callId: 'c1@host',
  ageSec: 20,
  streams: [
    {
      index: 0,
      media: 'audio',
      sides: [
        {
          interface: 'inside',
          role: 'inside',
          local: { address: '10.0.0.1', port: 30000 },
          peer: { address: '10.0.0.5', port: 4000 },
        },
        {
          interface: 'outside',
          role: 'outside',
          local: { address: '2001:db8::1', port: 30002 },
          peer: undefined,
        },
      ],
      pinholes: ['p1'],
      counters: {
        aToB: { packets: 750, bytes: 129_000 },
        bToA: { packets: 748, bytes: 128_656 },
        dropped: 3,
      },
      quality: {
        aToB: { packets: 750, bytes: 129_000, mos: 4.3 },
        bToA: {
          packets: 748,
          bytes: 128_656,
          report: { atMs: NOW, lossPercent: 1.5, cumulativeLost: 4, jitterMs: 2 },
        },
        dropped: 3,
        legRttMs: {},
        oneWay: false,
      },
    },
  ],
};

function views(registrations: RegistrationRow[]): RpcViews {
  return {
    registrations: (p) => ({
      total: registrations.length,
      rows: registrations.slice(p.offset, p.offset + p.limit),
    }),
    calls: (p) => ({ total: 1, rows: [call].slice(p.offset, p.offset + p.limit) }),
    sessionsFor: async (ids) => [session].filter((s) => ids.includes(s.callId)),
  };
}

function responder(rows: RegistrationRow[], maxReplyBytes?: number) {
  const clock = new ManualClock(NOW);
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  const r = createRpcResponder({
    views: views(rows),
    clock,
    logger: pino({ level: 'debug' }, sink),
    ...(maxReplyBytes === undefined ? {} : { maxReplyBytes }),
  });
  const reply = async (method: string, payload: string) => {
    const out = await r.handle(method, Buffer.from(payload));
    if (out === null) return null;
    const d = decode(RpcReplySchema, out);
    if (!d.ok) throw new Error(`agent sent an invalid reply: ${JSON.stringify(d.error)}`);
    return d.value;
  };
  return { reply, lines, clock };
}

describe('decideRpc', () => {
  it('accepts a known method with defaults for the page', () => {
    const id = randomUUID();
    expect(decideRpc('calls', request({}, NOW + 1, id), NOW)).toEqual({
      kind: 'query',
      id,
      method: 'calls',
      page: { limit: 100, offset: 0 },
    });
  });
  it('ignores a request at or past its deadline', () => {
    expect(decideRpc('calls', request({}, NOW), NOW).kind).toBe('expired');
  });
  it('refuses an unknown method by id', () => {
    const id = randomUUID();
    expect(decideRpc('reboot', request({}, NOW + 1, id), NOW)).toMatchObject({
      kind: 'refuse',
      id,
      code: 'unknown-method',
    });
  });
  it.each([
    [{ limit: 0 }, 'limit'],
    [{ limit: RPC_MAX_PAGE_LIMIT + 1 }, 'limit'],
    [{ offset: -1 }, 'offset'],
    [{ limit: 1.5 }, 'limit'],
    [{ limit: '10' }, 'limit'],
    [{ sort: 'aor' }, 'params'],
  ])('refuses params %j naming %s', (params, field) => {
    const d = decideRpc('registrations', request(params), NOW);
    expect(d).toMatchObject({ kind: 'refuse', code: 'invalid-params' });
    expect(d.kind === 'refuse' && d.message).toContain(field === 'params' ? 'sort' : field);
  });
  it.each([
    ['not json', 'not-json'],
    [JSON.stringify({ v: 1, id: 'x', deadline: 'soon' }), 'invalid'],
    [JSON.stringify({ v: 2, id: randomUUID(), deadline: new Date(NOW).toISOString() }), 'invalid'],
  ])('drops an undecodable payload %s', (payload, code) => {
    expect(decideRpc('calls', payload, NOW)).toMatchObject({ kind: 'invalid', error: { code } });
  });
});

describe('encodePageReply', () => {
  it('sends every row when they fit, and the longest prefix that fits otherwise', () => {
    const rows = Array.from({ length: 200 }, (_, i) => ({ n: i, pad: 'x'.repeat(100) }));
    const id = randomUUID();
    const all = JSON.parse(encodePageReply(id, { total: 900, offset: 7, rows }, 1_000_000));
    expect(all.result).toMatchObject({ total: 900, offset: 7, truncated: false });
    expect(all.result.rows).toHaveLength(200);
    const limit = 5000;
    const cut = encodePageReply(id, { total: 900, offset: 7, rows }, limit);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(limit);
    const parsed = JSON.parse(cut);
    expect(parsed.result.truncated).toBe(true);
    const n = parsed.result.rows.length;
    expect(n).toBeGreaterThan(0);
    expect(parsed.result.rows.at(-1).n).toBe(n - 1);
    // One row more would not have fitted.
    const oneMore = encodePageReply(id, { total: 900, offset: 7, rows: rows.slice(0, n + 1) }, 1_000_000);
    expect(Buffer.byteLength(oneMore)).toBeGreaterThan(limit);
  });
});

describe('createRpcResponder', () => {
  it('answers registrations with the bindings of the page, by id', async () => {
    const rows = Array.from({ length: 5 }, (_, i) => registrationRow(i));
    const { reply } = responder(rows);
    const id = randomUUID();
    const r = await reply('registrations', request({ limit: 2, offset: 1 }, NOW + 5000, id));
    expect(r).toMatchObject({ id, ok: true });
    const page = LiveRegistrationsPageSchema.parse(r?.ok && r.result);
    expect(page).toMatchObject({ total: 5, offset: 1, truncated: false });
    expect(page.rows.map((x) => x.aor)).toEqual(['sip:1001@example.com', 'sip:1002@example.com']);
    expect(page.rows.map((x) => x.userAgent)).toEqual(['sipwall-test-phone/1', 'sipwall-test-phone/2']);
    expect(page.rows[0]).toMatchObject({
      source: '192.0.2.2:5060',
      transport: 'udp',
      mode: 'main',
      registeredAt: new Date(NOW - 60_000).toISOString(),
      expiresAt: new Date(NOW + 300_000).toISOString(),
    });
  });

  it('answers calls with their streams, counters and quality', async () => {
    const { reply } = responder([]);
    const r = await reply('calls', request());
    const page = LiveCallsPageSchema.parse(r?.ok && r.result);
    expect(page.total).toBe(1);
    const c = page.rows[0]!;
    expect(c).toMatchObject({ callId: 'c1@host', state: 'confirmed', answeredAt: call.answeredAt });
    expect(c.streams[0]).toEqual({
      index: 0,
      media: 'audio',
      sides: [
        { interface: 'inside', role: 'inside', local: '10.0.0.1:30000', peer: '10.0.0.5:4000' },
        { interface: 'outside', role: 'outside', local: '[2001:db8::1]:30002', peer: null },
      ],
      aToB: { packets: 750, bytes: 129_000 },
      bToA: { packets: 748, bytes: 128_656 },
      dropped: 3,
      quality: { aToB: { mos: 4.3 }, bToA: { lossPercent: 1.5, jitterMs: 2 }, oneWay: false },
    });
  });

  it('keeps a large listing under the byte bound and says so', async () => {
    const rows = Array.from({ length: 500 }, (_, i) => registrationRow(i));
    const { reply } = responder(rows, 20_000);
    const r = await reply('registrations', request({ limit: 500 }));
    const page = LiveRegistrationsPageSchema.parse(r?.ok && r.result);
    expect(page.truncated).toBe(true);
    expect(page.rows.length).toBeGreaterThan(10);
    expect(page.rows.length).toBeLessThan(500);
    expect(page.total).toBe(500);
  });

  it('refuses unknown methods and bad params, ignores expired requests', async () => {
    const { reply } = responder([]);
    const id = randomUUID();
    expect(await reply('trace', request({}, NOW + 1, id))).toMatchObject({
      id,
      ok: false,
      error: { code: 'unknown-method' },
    });
    expect(await reply('calls', request({ limit: 0 }))).toMatchObject({
      ok: false,
      error: { code: 'invalid-params' },
    });
    expect(await reply('calls', request({}, NOW - 1))).toBeNull();
  });

  it('drops invalid payloads and logs them at most once a minute', async () => {
    const { reply, lines, clock } = responder([]);
    for (let i = 0; i < 5; i++) expect(await reply('calls', '{"v":1')).toBeNull();
    clock.advance(60_000);
    expect(await reply('calls', 'garbage')).toBeNull();
    const warned = lines.filter((l) => l.msg === 'invalid rpc request dropped');
    expect(warned).toHaveLength(2);
    expect(warned[1]).toMatchObject({ suppressed: 4 });
  });

  it('refuses queries beyond its in-flight bound as unavailable, and serves again once they finish', async () => {
    const clock = new ManualClock(NOW);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const r = createRpcResponder({
      views: {
        ...views([]),
        sessionsFor: async () => {
          await gate;
          return [];
        },
      },
      clock,
      logger: pino({ level: 'silent' }),
      maxInFlight: 2,
    });
    const first = [r.handle('calls', Buffer.from(request())), r.handle('calls', Buffer.from(request()))];
    const third = JSON.parse((await r.handle('calls', Buffer.from(request())))!);
    expect(third).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    release();
    for (const out of await Promise.all(first)) expect(JSON.parse(out!).ok).toBe(true);
    expect(JSON.parse((await r.handle('calls', Buffer.from(request())))!).ok).toBe(true);
  });

  it('answers internal rather than send a row the control plane would refuse', async () => {
    const { reply } = responder([{ ...registrationRow(0), aor: `sip:${'x'.repeat(3000)}@example.com` }]);
    expect(await reply('registrations', request())).toMatchObject({ ok: false, error: { code: 'internal' } });
  });

  it('answers internal when a view fails', async () => {
    const clock = new ManualClock(NOW);
    const r = createRpcResponder({
      views: {
        ...views([]),
        sessionsFor: async () => {
          throw new Error('driver gone');
        },
      },
      clock,
      logger: pino({ level: 'silent' }),
    });
    const out = await r.handle('calls', Buffer.from(request()));
    expect(JSON.parse(out!)).toMatchObject({ ok: false, error: { code: 'internal' } });
  });
});

describe('LogThrottle', () => {
  it('lets one line through per interval and counts the rest', () => {
    const t = new LogThrottle(1000);
    expect(t.take(0)).toEqual({ log: true, suppressed: 0 });
    expect(t.take(10).log).toBe(false);
    expect(t.take(999).log).toBe(false);
    expect(t.take(1000)).toEqual({ log: true, suppressed: 2 });
  });
});
