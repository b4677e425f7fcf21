import type { AgentConfig } from '@sipwall/shared';

/** Command-line settings that win over the config file. */
export interface ConfigOverrides {
  /** Replaces the port of every SIP interface. */
  sipPort?: number;
  /** Replaces the admin API port. */
  adminPort?: number;
}

/** Applies CLI overrides to a validated config (pure; the overrides are range-checked by the CLI). */
export function applyOverrides(config: AgentConfig, overrides: ConfigOverrides): AgentConfig {
  const { sipPort, adminPort } = overrides;
  return {
    ...config,
    sip:
      sipPort === undefined
        ? config.sip
        : { ...config.sip, interfaces: config.sip.interfaces.map((i) => ({ ...i, port: sipPort })) },
    admin: adminPort === undefined ? config.admin : { ...config.admin, port: adminPort },
  };
}
