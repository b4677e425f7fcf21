import { type AgentConfig, AgentConfigSchema, type DesiredStateInput } from '@sipwall/shared';

/** A small valid file config for sync tests. */
export function fileConfigFixture(): AgentConfig {
  return AgentConfigSchema.parse({
    site: 'lab',
    stateDir: '/tmp/unused',
    sip: {
      domains: ['file.test'],
      interfaces: [{ name: 'inside', role: 'inside', address: '127.0.0.1', port: 0 }],
      registrar: { minExpiresSec: 60, maxExpiresSec: 3600 },
    },
  });
}

/** A valid desired state at `version`. */
export function desiredFixture(
  version: number,
  overrides: Partial<DesiredStateInput> = {},
): DesiredStateInput {
  return {
    version,
    config: { domains: ['managed.test'], logLevel: 'debug' },
    users: [{ username: 'alice', domain: 'managed.test', ha1: { md5: 'a'.repeat(32) } }],
    policies: {},
    issuedAt: '2025-01-01T00:00:00.000Z',
    ...overrides,
  };
}
