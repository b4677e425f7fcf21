import { sipwallProject } from '../vitest.shared.js';

export default sipwallProject('e2e', {
  include: ['**/*.test.ts'],
  exclude: ['node_modules/**'],
  testTimeout: 60_000,
  hookTimeout: 120_000,
  fileParallelism: false,
});
