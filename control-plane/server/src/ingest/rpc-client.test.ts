import { RpcRequestSchema, topics } from '@sipwall/shared';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.js';
import { createRpcClient, RpcError, type RpcClientDeps } from './rpc-client.js';

const AGENT = 'ag-aaaaaaaaaaaa';
const OTHER = 'ag-bbbbbbbbbbbb';
const page = { total: 1, offset: 0, rows: [], truncated: false };

/** A client whose requests land in `sent`; tests answer them through `handleReply`, as the bridge would. */
function harness(overrides: Partial<RpcClientDeps> = {}) {
  const sent: { topic: string; payload: string }[] = [];
  const online = new Set([AGENT, OTHER]);
  const client = createRpcClient({
    publish: async (topic, payload) => {
      sent.push({ topic, payload });
    },
    connected: () => true,
    isOnline: async (id) => online.has(id),
    now: () => Date.parse('2026-12-06T10:00:00Z'),
    logger: silentLogger(),
    timeoutMs: 200,
    ...overrides,
  });
  const lastId = () => RpcRequestSchema.parse(JSON.parse(sent.at(-1)!.payload)).id;
  const reply = (agentId: string, body: unknown) =>
    client.handleReply(topics.reply(agentId), Buffer.from(JSON.stringify(body)));
  const failure = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (e) {
      if (e instanceof RpcError) return e;
      throw e;
    }
    throw new Error('expected an RpcError');
  };
  return { client, sent, online, lastId, reply, failure };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('createRpcClient', () => {
  it('publishes to rpc/{method} with id and deadline, and resolves with the matching reply', async () => {
    const h = harness();
    const p = h.client.call(AGENT, 'registrations', { limit: 5, offset: 10 });
    await tick();
    expect(h.sent[0]!.topic).toBe(topics.rpc(AGENT, 'registrations'));
    const req = RpcRequestSchema.parse(JSON.parse(h.sent[0]!.payload));
    expect(req.params).toEqual({ limit: 5, offset: 10 });
    expect(req.deadline).toBe('2026-12-06T10:00:00.200Z');
    expect(h.client.pending()).toBe(1);
    h.reply(AGENT, { v: 1, id: req.id, ok: true, result: { ...page, total: 42 } });
    expect(await p).toEqual({ ...page, total: 42 });
    expect(h.client.pending()).toBe(0);
  });

  it('correlates concurrent queries by id, whatever the reply order', async () => {
    const h = harness();
    const a = h.client.call(AGENT, 'calls', {});
    await tick();
    const idA = h.lastId();
    const b = h.client.call(OTHER, 'calls', {});
    await tick();
    const idB = h.lastId();
    h.reply(OTHER, { v: 1, id: idB, ok: true, result: { ...page, total: 2 } });
    h.reply(AGENT, { v: 1, id: idA, ok: true, result: { ...page, total: 1 } });
    expect((await a).total).toBe(1);
    expect((await b).total).toBe(2);
  });

  it('accepts a reply only from the agent that was asked', async () => {
    const h = harness();
    const p = h.client.call(AGENT, 'calls', {});
    await tick();
    h.reply(OTHER, { v: 1, id: h.lastId(), ok: true, result: page });
    expect((await h.failure(p)).code).toBe('timeout');
  });

  it('fails at once for an offline agent, sending nothing', async () => {
    const h = harness();
    h.online.delete(AGENT);
    const started = Date.now();
    const e = await h.failure(h.client.call(AGENT, 'calls', {}));
    expect(e.code).toBe('agent-offline');
    expect(Date.now() - started).toBeLessThan(100);
    expect(h.sent).toHaveLength(0);
  });

  it('times out with a typed error and forgets the query; a late reply is ignored', async () => {
    const h = harness();
    const p = h.client.call(AGENT, 'calls', {});
    await tick();
    const id = h.lastId();
    const e = await h.failure(p);
    expect(e.code).toBe('timeout');
    expect(h.client.pending()).toBe(0);
    expect(() => h.reply(AGENT, { v: 1, id, ok: true, result: page })).not.toThrow();
  });

  it("maps the agent's error and an invalid result to typed errors", async () => {
    const h = harness();
    const p1 = h.client.call(AGENT, 'calls', {});
    await tick();
    h.reply(AGENT, { v: 1, id: h.lastId(), ok: false, error: { code: 'unknown-method', message: 'nope' } });
    const e1 = await h.failure(p1);
    expect([e1.code, e1.agentCode]).toEqual(['agent-error', 'unknown-method']);

    const busy = h.client.call(AGENT, 'calls', {});
    await tick();
    h.reply(AGENT, { v: 1, id: h.lastId(), ok: false, error: { code: 'unavailable', message: 'retry' } });
    expect((await h.failure(busy)).code).toBe('busy');

    const p2 = h.client.call(AGENT, 'registrations', {});
    await tick();
    h.reply(AGENT, { v: 1, id: h.lastId(), ok: true, result: { rows: 'not a page' } });
    expect((await h.failure(p2)).code).toBe('invalid-reply');
  });

  it('drops undecodable replies without failing anyone', async () => {
    const h = harness();
    const p = h.client.call(AGENT, 'calls', {});
    await tick();
    h.client.handleReply(topics.reply(AGENT), Buffer.from('{"v":1,'));
    h.client.handleReply('elsewhere/reply', Buffer.from('{}'));
    h.reply(AGENT, { v: 1, id: h.lastId(), ok: true, result: page });
    expect(await p).toEqual(page);
  });

  it('refuses when the broker is away, the publish fails, or too many queries wait', async () => {
    const away = harness({ connected: () => false });
    expect((await away.failure(away.client.call(AGENT, 'calls', {}))).code).toBe('broker-unavailable');
    expect(away.sent).toHaveLength(0);
    const failing = harness({
      publish: async () => {
        throw new Error('connection closed');
      },
    });
    expect((await failing.failure(failing.client.call(AGENT, 'calls', {}))).code).toBe('broker-unavailable');
    const small = harness({ maxPending: 1 });
    const first = small.client.call(AGENT, 'calls', {});
    await tick();
    expect((await small.failure(small.client.call(AGENT, 'calls', {}))).code).toBe('busy');
    small.client.close();
    expect((await small.failure(first)).code).toBe('broker-unavailable');
  });
});
