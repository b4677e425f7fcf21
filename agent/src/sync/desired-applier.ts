import type { AgentConfig, FieldIssue, ReportedState } from '@sipwall/shared';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { AppliedConfig, ConfigStore } from './config-store.js';
import { decideDesired } from './desired-decision.js';
import {
  DESIRED_PREV_FILE,
  type RevertRecord,
  writePersistedDesired,
  writeRevertRecord,
  writeUnconfirmed,
} from './desired-store.js';
import { appliedReport, rejectedReport } from './reports.js';

/** `revertAfterSec` when a desired state does not say (the contract's default). */
export const DEFAULT_REVERT_AFTER_SEC = 120;

export interface DesiredApplierDeps {
  /** The config file as loaded (desired state is always merged over this, never over a previous merge). */
  fileConfig: AgentConfig;
  store: ConfigStore;
  stateDir: string;
  agentVersion: string;
  clock: Clock;
  logger: Logger;
  /** The revert persisted by an earlier run (reported again on connect, its version not re-applied). */
  reverted?: RevertRecord | null;
  /**
   * The running version was applied by an earlier run and never confirmed: what to return to if
   * its report is not delivered within its `revertAfterSec` from now (`restoreRevertTarget`).
   */
  unconfirmedRevertTo?: AppliedConfig | null;
}

export interface DesiredApplier {
  /** Handles one `desired` payload; returns the `reported` state to publish, or null to publish nothing. */
  handle(payload: Uint8Array | string): Promise<ReportedState | null>;
  /**
   * The broker acknowledged (PUBACK) a published `reported` state: the control plane can be
   * reached with this version, so it is kept (its auto-revert timer stops).
   */
  reportDelivered(report: ReportedState): void;
  /** The report describing what runs now (published on every connect). */
  currentReport(): ReportedState;
  /** Resolves when every payload handed in so far, and any revert, is done (tests, shutdown). */
  idle(): Promise<void>;
  /** Stops the revert timer (agent shutdown). */
  stop(): void;
  readonly stats: { applied: number; rejected: number; reverted: number };
}

/** A version applied but not yet confirmed by a delivered report. */
interface Pending {
  readonly version: number;
  /** The last confirmed config: what a revert returns to. */
  readonly previous: AppliedConfig;
  readonly revertAfterSec: number;
  readonly timer: TimerHandle;
}

/**
 * Applies desired states in order: decide (pure: merge, then compile every layer) → persist
 * `desired.json` (and the last confirmed one as `desired.prev.json`) → swap the config in the
 * store, which every layer follows → report. Anything refused leaves the last good config
 * running. An applied version must then be reported to the broker within its `revertAfterSec`,
 * else the agent returns to the last confirmed config by itself and reports `reverted`.
 */
export function createDesiredApplier(deps: DesiredApplierDeps): DesiredApplier {
  const log = deps.logger;
  const stats = { applied: 0, rejected: 0, reverted: 0 };
  let reverted: RevertRecord | null = deps.reverted ?? null;
  let pending: Pending | undefined;
  const now = () => deps.clock.now();
  const applied = () => deps.store.current().appliedVersion;
  const revertedNow = (r: RevertRecord) =>
    rejectedReport(applied(), r.version, r.errors, deps.agentVersion, now(), 'reverted');
  let lastReport =
    reverted === null ? appliedReport(applied(), deps.agentVersion, now()) : revertedNow(reverted);
  let chain: Promise<unknown> = Promise.resolve();
  const serialize = <T>(job: () => Promise<T>): Promise<T> => {
    const next = chain.then(job);
    chain = next.catch(() => {});
    return next;
  };

  const reject = (rejectedVersion: number | undefined, errors: FieldIssue[]) => {
    stats.rejected++;
    log.warn(
      { rejectedVersion, appliedVersion: applied(), errors },
      'desired state rejected; keeping last good config',
    );
    lastReport = rejectedReport(applied(), rejectedVersion, errors, deps.agentVersion, now());
    return lastReport;
  };

  const revert = async (p: Pending): Promise<void> => {
    if (pending !== p) return; // confirmed or superseded meanwhile
    pending = undefined;
    const target = p.previous;
    const record: RevertRecord = {
      version: p.version,
      errors: [
        {
          path: 'revertAfterSec',
          message: `version ${p.version} was applied but could not be reported to the control plane within ${p.revertAfterSec} s; returned to ${target.appliedVersion === null ? 'the config file' : `version ${target.appliedVersion}`}`,
        },
      ],
    };
    try {
      await writePersistedDesired(deps.stateDir, target.desired);
      await writePersistedDesired(deps.stateDir, null, DESIRED_PREV_FILE);
      await writeRevertRecord(deps.stateDir, record);
      await writeUnconfirmed(deps.stateDir, null);
    } catch (e) {
      log.error({ err: (e as Error).message }, 'cannot persist the reverted desired state');
    }
    deps.store.replace(target);
    reverted = record;
    stats.reverted++;
    lastReport = revertedNow(record);
    log.warn(
      { revertedVersion: p.version, appliedVersion: target.appliedVersion, revertAfterSec: p.revertAfterSec },
      'control plane unreachable after applying a desired state; reverted',
    );
  };

  const startPending = (version: number, previous: AppliedConfig, revertAfterSec: number): Pending => {
    const p: Pending = {
      version,
      previous,
      revertAfterSec,
      timer: deps.clock.setTimeout(() => void serialize(() => revert(p)), revertAfterSec * 1000),
    };
    return p;
  };
  const booted = deps.store.current();
  if (deps.unconfirmedRevertTo != null && booted.desired !== null) {
    const sec = booted.desired.revertAfterSec ?? DEFAULT_REVERT_AFTER_SEC;
    if (sec > 0) pending = startPending(booted.desired.version, deps.unconfirmedRevertTo, sec);
  }

  const apply = async (desired: NonNullable<AppliedConfig['desired']>, config: AgentConfig) => {
    const previous = pending?.previous ?? deps.store.current();
    const revertAfterSec = desired.revertAfterSec ?? DEFAULT_REVERT_AFTER_SEC;
    try {
      await writePersistedDesired(deps.stateDir, previous.desired, DESIRED_PREV_FILE);
      await writeUnconfirmed(deps.stateDir, revertAfterSec > 0 ? desired.version : null);
      await writePersistedDesired(deps.stateDir, desired);
      await writeRevertRecord(deps.stateDir, null);
    } catch (e) {
      return reject(desired.version, [
        { path: '(agent)', message: `cannot persist desired state: ${(e as Error).message}` },
      ]);
    }
    if (pending !== undefined) deps.clock.clearTimeout(pending.timer);
    pending = undefined;
    deps.store.replace({ config, appliedVersion: desired.version, desired });
    reverted = null;
    stats.applied++;
    if (revertAfterSec > 0) pending = startPending(desired.version, previous, revertAfterSec);
    log.info(
      { appliedVersion: desired.version, users: config.users.length, revertAfterSec },
      'desired state applied',
    );
    lastReport = appliedReport(desired.version, deps.agentVersion, now());
    return lastReport;
  };

  const handleNow = async (payload: Uint8Array | string): Promise<ReportedState | null> => {
    const current = deps.store.current();
    const decision = decideDesired(payload, {
      fileConfig: deps.fileConfig,
      running: current.config,
      appliedVersion: current.appliedVersion,
      revertedVersion: reverted?.version ?? null,
    });
    switch (decision.kind) {
      case 'reject':
        return reject(decision.rejectedVersion, decision.errors);
      case 'stale':
        log.warn(
          { version: decision.version, appliedVersion: decision.appliedVersion },
          'ignoring desired state older than the applied one',
        );
        return null;
      case 'reverted':
        log.info({ version: decision.version }, 'not re-applying a reverted desired state');
        return lastReport;
      case 'duplicate':
        log.debug({ version: decision.version }, 'desired state already applied');
        if (lastReport.status !== 'rejected')
          lastReport = appliedReport(decision.version, deps.agentVersion, now());
        return lastReport;
      case 'apply':
        return apply(decision.desired, decision.config);
    }
  };

  return {
    stats,
    currentReport: () => ({ ...lastReport, reportedAt: new Date(now()).toISOString() }),
    handle: (payload) => serialize(() => handleNow(payload)),
    reportDelivered(report) {
      const p = pending;
      if (p === undefined || report.appliedVersion !== p.version) return;
      deps.clock.clearTimeout(p.timer);
      pending = undefined;
      log.info({ appliedVersion: p.version }, 'desired state confirmed: report delivered to the broker');
      void serialize(async () => {
        // Unless a newer version became pending meanwhile (its apply wrote its own marker).
        if (pending === undefined) await writeUnconfirmed(deps.stateDir, null);
      }).catch((e: Error) => log.warn({ err: e.message }, 'cannot clear the unconfirmed marker'));
    },
    idle: () => chain.then(() => {}),
    stop() {
      if (pending !== undefined) deps.clock.clearTimeout(pending.timer);
      pending = undefined;
    },
  };
}
