export { AGENT_VERSION } from './version.js';
export { AgentError, isAgentError } from './errors.js';
export { ConfigError, type ConfigErrorCode } from './config/config-error.js';
export { loadConfig, type LoadedConfig } from './config/load-config.js';
export { parseConfigText } from './config/parse-config.js';
export { applyOverrides, type ConfigOverrides } from './config/overrides.js';
export {
  type AppliedConfig,
  type ConfigListener,
  type ConfigStore,
  createConfigStore,
} from './sync/config-store.js';
export { ControlLinkError, type ControlLinkErrorCode } from './sync/control-link-error.js';
export { mergeDesired } from './sync/merge-desired.js';
export { decideDesired, type DesiredDecision } from './sync/desired-decision.js';
export { createAdminApp } from './admin/app.js';
export type { AgentHealth, ControlPlaneState } from './admin/health.js';
