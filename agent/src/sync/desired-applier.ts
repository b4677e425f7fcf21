import type { AgentConfig, ReportedState } from '@sipwall/shared';
import type { Logger } from 'pino';
import type { Clock } from '../util/clock.js';
import type { ConfigStore } from './config-store.js';
import { decideDesired } from './desired-decision.js';
import { writePersistedDesired } from './desired-store.js';
import { appliedReport, rejectedReport } from './reports.js';

export interface DesiredApplierDeps {
  /** The config file as loaded (desired state is always merged over this, never over a previous merge). */
  fileConfig: AgentConfig;
  store: ConfigStore;
  stateDir: string;
  agentVersion: string;
  clock: Clock;
  logger: Logger;
}

export interface DesiredApplier {
  /** Handles one `desired` payload; returns the `reported` state to publish, or null to publish nothing. */
  handle(payload: Uint8Array | string): Promise<ReportedState | null>;
  /** The report describing what runs now (published on every connect). */
  currentReport(): ReportedState;
  readonly stats: { applied: number; rejected: number };
}

/**
 * Applies desired states in order: decide (pure) → persist `desired.json` → swap the config in the
 * store (notifying subscribers) → report. Anything refused leaves the last good config running.
 */
export function createDesiredApplier(deps: DesiredApplierDeps): DesiredApplier {
  const stats = { applied: 0, rejected: 0 };
  let lastReport = appliedReport(deps.store.current().appliedVersion, deps.agentVersion, deps.clock.now());
  let chain: Promise<unknown> = Promise.resolve();

  const reject = (rejectedVersion: number | undefined, errors: { path: string; message: string }[]) => {
    stats.rejected++;
    const appliedVersion = deps.store.current().appliedVersion;
    deps.logger.warn(
      { rejectedVersion, appliedVersion, errors },
      'desired state rejected; keeping last good config',
    );
    lastReport = rejectedReport(appliedVersion, rejectedVersion, errors, deps.agentVersion, deps.clock.now());
    return lastReport;
  };

  const handleNow = async (payload: Uint8Array | string): Promise<ReportedState | null> => {
    const decision = decideDesired(payload, deps.fileConfig, deps.store.current().appliedVersion);
    switch (decision.kind) {
      case 'reject':
        return reject(decision.rejectedVersion, decision.errors);
      case 'stale':
        deps.logger.warn(
          { version: decision.version, appliedVersion: decision.appliedVersion },
          'ignoring desired state older than the applied one',
        );
        return null;
      case 'duplicate':
        deps.logger.debug({ version: decision.version }, 'desired state already applied');
        lastReport = appliedReport(decision.version, deps.agentVersion, deps.clock.now());
        return lastReport;
      case 'apply': {
        try {
          await writePersistedDesired(deps.stateDir, decision.desired);
        } catch (e) {
          return reject(decision.desired.version, [
            { path: '(agent)', message: `cannot persist desired state: ${(e as Error).message}` },
          ]);
        }
        deps.store.replace({
          config: decision.config,
          appliedVersion: decision.desired.version,
          desired: decision.desired,
        });
        stats.applied++;
        deps.logger.info(
          { appliedVersion: decision.desired.version, users: decision.desired.users.length },
          'desired state applied',
        );
        lastReport = appliedReport(decision.desired.version, deps.agentVersion, deps.clock.now());
        return lastReport;
      }
    }
  };

  return {
    stats,
    currentReport: () => ({ ...lastReport, reportedAt: new Date(deps.clock.now()).toISOString() }),
    handle(payload) {
      // One at a time, in arrival order.
      const next = chain.then(() => handleNow(payload));
      chain = next.catch(() => {});
      return next;
    },
  };
}
