import { describe, expect, it } from 'vitest';
import {
  AgentConfigSchema,
  DesiredStateSchema,
  decode,
  encode,
  EventBatchSchema,
  isWithinAgentTree,
  parseAgentTopic,
  topics,
  toFieldIssues,
} from '../src/index.js';

const minimalConfig = {
  sip: { domains: ['example.test'], interfaces: [{ name: 'inside', role: 'inside', address: '127.0.0.1' }] },
};

describe('AgentConfigSchema', () => {
  it('fills defaults for a minimal config', () => {
    const cfg = AgentConfigSchema.parse(minimalConfig);
    expect(cfg.sip.interfaces[0]?.port).toBe(5060);
    expect(cfg.sip.timers.t1Ms).toBe(500);
    expect(cfg.media.driver).toBe('relay');
    expect(cfg.policies.authenticate).toContain('INVITE');
  });

  it('names the field and the reason for a bad port', () => {
    const bad = structuredClone(minimalConfig) as { sip: { interfaces: Array<Record<string, unknown>> } };
    bad.sip.interfaces[0]!.port = 70000;
    const r = AgentConfigSchema.safeParse(bad);
    expect(r.success).toBe(false);
    if (!r.success) expect(toFieldIssues(r.error)[0]?.path).toBe('sip.interfaces.0.port');
  });

  it('rejects unknown keys (typos) by path', () => {
    const r = AgentConfigSchema.safeParse({ ...minimalConfig, sipp: {} });
    expect(r.success).toBe(false);
    if (!r.success)
      expect(
        toFieldIssues(r.error)
          .map((i) => i.message)
          .join(),
      ).toMatch(/sipp/);
  });

  it('refuses a plaintext password on a user', () => {
    const r = AgentConfigSchema.safeParse({
      ...minimalConfig,
      users: [
        { username: 'alice', domain: 'example.test', password: 'alice-secret', ha1: { md5: 'a'.repeat(32) } },
      ],
    });
    expect(r.success).toBe(false);
  });

  it('defaults the far-end NAT keep-alive and names a bad interval', () => {
    expect(AgentConfigSchema.parse(minimalConfig).sip.registrar.keepAliveIntervalSec).toBe(25);
    const r = AgentConfigSchema.safeParse({
      sip: { ...minimalConfig.sip, registrar: { keepAliveIntervalSec: 1 } },
    });
    expect(r.success).toBe(false);
    if (!r.success) expect(toFieldIssues(r.error)[0]?.path).toBe('sip.registrar.keepAliveIntervalSec');
  });

  it('requires tls files when an interface uses tls', () => {
    const r = AgentConfigSchema.safeParse({
      sip: {
        domains: ['example.test'],
        interfaces: [{ name: 'inside', role: 'inside', address: '127.0.0.1', transports: ['tls'] }],
      },
    });
    expect(r.success).toBe(false);
    if (!r.success) expect(toFieldIssues(r.error)[0]?.path).toBe('sip.tls');
  });
});

describe('topics', () => {
  it('builds and parses every agent topic', () => {
    for (const kind of ['desired', 'reported', 'status', 'events'] as const) {
      expect(parseAgentTopic(topics[kind]('site-a-1'))).toEqual({ agentId: 'site-a-1', kind });
    }
    expect(parseAgentTopic(topics.rpc('site-a-1', 'sessions'))).toEqual({
      agentId: 'site-a-1',
      kind: 'rpc',
      rest: 'sessions',
    });
  });

  it('refuses ids that could carry wildcards', () => {
    expect(() => topics.desired('a/+/b')).toThrow();
    expect(() => topics.desired('#')).toThrow();
    expect(parseAgentTopic('sipwall/v1/agents/+/desired')).toBeNull();
  });

  it('keeps filters inside the agent tree', () => {
    expect(isWithinAgentTree('agent-1', 'sipwall/v1/agents/agent-1/desired')).toBe(true);
    expect(isWithinAgentTree('agent-1', 'sipwall/v1/agents/agent-1/#')).toBe(true);
    expect(isWithinAgentTree('agent-1', 'sipwall/v1/agents/agent-2/desired')).toBe(false);
    expect(isWithinAgentTree('agent-1', 'sipwall/v1/agents/#')).toBe(false);
    expect(isWithinAgentTree('agent-1', 'sipwall/v1/agents/+/desired')).toBe(false);
  });
});

describe('codec', () => {
  const desired = {
    version: 3,
    config: { domains: ['example.test'] },
    users: [],
    policies: {},
    issuedAt: new Date(0).toISOString(),
  };

  it('round-trips desired state', () => {
    const r = decode(DesiredStateSchema, encode(DesiredStateSchema, desired));
    expect(r.ok && r.value.version).toBe(3);
  });

  it('returns typed errors for garbage and invalid payloads', () => {
    const notJson = decode(DesiredStateSchema, '{nope');
    expect(!notJson.ok && notJson.error.code).toBe('not-json');
    const invalid = decode(DesiredStateSchema, JSON.stringify({ ...desired, version: 0 }));
    expect(!invalid.ok && invalid.error.code).toBe('invalid');
    const badUtf8 = decode(DesiredStateSchema, new Uint8Array([0x7b, 0xff, 0x7d]));
    expect(!badUtf8.ok && badUtf8.error.code).toBe('not-json');
  });

  it('rejects an event batch with no records', () => {
    const r = decode(
      EventBatchSchema,
      JSON.stringify({
        v: 1,
        agentId: 'a-1',
        msgId: crypto.randomUUID(),
        sentAt: new Date().toISOString(),
        records: [],
      }),
    );
    expect(r.ok).toBe(false);
  });
});
