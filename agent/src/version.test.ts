import { AgentConfigSchema } from '@sipwall/shared';
import { expect, it } from 'vitest';
import { AGENT_VERSION } from './version.js';

it('has a semver version and resolves the shared package from source', () => {
  expect(AGENT_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
  expect(typeof AgentConfigSchema.parse).toBe('function');
});
