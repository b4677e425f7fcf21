import type { AgentConfig, DesiredState } from '@sipwall/shared';

/** The config in force and where it came from. */
export interface AppliedConfig {
  readonly config: AgentConfig;
  /** Desired-state version merged into `config`; null while running on the file alone. */
  readonly appliedVersion: number | null;
  readonly desired: DesiredState | null;
}

export type ConfigListener = (applied: AppliedConfig) => void;

/**
 * Holds the running config and tells subscribers when it changes. The SIP stack subscribes through
 * `onConfig`; sync is the only writer.
 */
export interface ConfigStore {
  current(): AppliedConfig;
  /** Subscribes to changes (not called for the current value); returns an unsubscribe function. */
  onConfig(listener: ConfigListener): () => void;
  replace(next: AppliedConfig): void;
}

/** Creates a store; a throwing listener is reported to `onListenerError` and does not stop the others. */
export function createConfigStore(
  initial: AppliedConfig,
  onListenerError: (e: unknown) => void = () => {},
): ConfigStore {
  let current = initial;
  const listeners = new Set<ConfigListener>();
  return {
    current: () => current,
    onConfig(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    replace(next) {
      current = next;
      for (const l of listeners) {
        try {
          l(next);
        } catch (e) {
          onListenerError(e);
        }
      }
    },
  };
}
