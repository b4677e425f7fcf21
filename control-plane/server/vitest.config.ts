import { sipwallProject } from '../../vitest.shared.js';

export default sipwallProject('control-plane', { testTimeout: 30_000, hookTimeout: 60_000 });
