import type { AgentConfig } from '@sipwall/shared';
import type { Logger } from 'pino';
import type { AppliedConfig } from './config-store.js';
import { DESIRED_PREV_FILE, readPersistedDesired, readUnconfirmed } from './desired-store.js';
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

/**
 * When the applied version had not been confirmed (its report never reached the broker) before the
 * agent stopped: the config its auto-revert returns to (`desired.prev.json` over the file, or the
 * file alone). Null when the applied version was confirmed.
 */
export async function restoreRevertTarget(
  fileConfig: AgentConfig,
  stateDir: string,
  applied: AppliedConfig,
  logger: Logger,
): Promise<AppliedConfig | null> {
  const unconfirmed = await readUnconfirmed(stateDir);
  if (unconfirmed === null || unconfirmed !== applied.appliedVersion) return null;
  const fileOnly: AppliedConfig = { config: fileConfig, appliedVersion: null, desired: null };
  const prev = await readPersistedDesired(stateDir, DESIRED_PREV_FILE);
  if (prev.kind !== 'ok') return fileOnly;
  const merged = compileDesired(fileConfig, fileConfig, prev.desired);
  if (!merged.ok) {
    logger.warn(
      { errors: merged.error },
      'previous desired state no longer fits the config file; reverting would use the file',
    );
    return fileOnly;
  }
  return { config: merged.value, appliedVersion: prev.desired.version, desired: prev.desired };
}
