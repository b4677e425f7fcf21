import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { AgentConfig } from '@sipwall/shared';
import { ConfigError } from './config-error.js';
import { applyOverrides, type ConfigOverrides } from './overrides.js';
import { parseConfigText } from './parse-config.js';

/** A validated config plus where it came from. */
export interface LoadedConfig {
  /** Absolute path of the YAML file. */
  path: string;
  config: AgentConfig;
}

/**
 * Reads the YAML config file, validates it with `AgentConfigSchema` and applies CLI overrides.
 * @throws {ConfigError} `AGENT_ERR_CONFIG_READ` | `AGENT_ERR_CONFIG_YAML` | `AGENT_ERR_CONFIG_INVALID`
 */
export async function loadConfig(file: string, overrides: ConfigOverrides = {}): Promise<LoadedConfig> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new ConfigError('AGENT_ERR_CONFIG_READ', `${path}: cannot read config file (${reason})`, [], e);
  }
  const parsed = parseConfigText(text, path, dirname(path));
  if (!parsed.ok) throw parsed.error;
  return { path, config: applyOverrides(parsed.value, overrides) };
}
