import { sipwallProject } from '../vitest.shared.js';

// Hooks start and stop agent processes, SIPp, dnsmasq and network namespaces: 10 s (vitest's
// default) is too tight for a teardown on a loaded CI machine, and a hook that times out fails its
// file with every test passed.
export default sipwallProject('agent', { hookTimeout: 60_000 });
