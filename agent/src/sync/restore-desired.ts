import type { AgentConfig } from '@sipwall/shared';
import type { Logger } from 'pino';
import type { AppliedConfig } from './config-store.js';
import { readPersistedDesired } from './desired-store.js';
import { compileDesired } from './desired-decision.js';

/**
 * The config to start with: the file config with the last applied desired state laid over it, so a
 * restart while the control plane is away serves the same version. Falls back to the file alone if
 * `desired.json` is missing, unreadable or no longer merges with the file (or a layer refuses it).
 */
export async function restoreAppliedConfig(
  fileConfig: AgentConfig,
  stateDir: string,
  logger: Logger,
): Promise<AppliedConfig> {
  const fileOnly: AppliedConfig = { config: fileConfig, appliedVersion: null, desired: null };
  const persisted = await readPersistedDesired(stateDir);
  if (persisted.kind === 'none') return fileOnly;
  if (persisted.kind === 'invalid') {
    logger.warn({ reason: persisted.reason }, 'ignoring unusable persisted desired state');
    return fileOnly;
  }
  const merged = compileDesired(fileConfig, fileConfig, persisted.desired);
  if (!merged.ok) {
    logger.warn(
      { errors: merged.error },
      'persisted desired state no longer fits the config file; ignoring it',
    );
    return fileOnly;
  }
  logger.info({ appliedVersion: persisted.desired.version }, 'restored last applied desired state');
  return { config: merged.value, appliedVersion: persisted.desired.version, desired: persisted.desired };
}
