import {
  type AgentConfig,
  type DesiredState,
  DesiredStateSchema,
  decode,
  type FieldIssue,
  err,
  ok,
  type Result,
} from '@sipwall/shared';
import { z } from 'zod';
import { checkLayers } from './check-layers.js';
import { mergeDesired } from './merge-desired.js';

/** What to do with one `desired` message. */
export type DesiredDecision =
  | { kind: 'apply'; desired: DesiredState; config: AgentConfig }
  | { kind: 'reject'; rejectedVersion?: number; errors: FieldIssue[] }
  /** Same version as applied (retained redelivery): nothing to apply, report again. */
  | { kind: 'duplicate'; version: number }
  /** Older than applied: ignore. */
  | { kind: 'stale'; version: number; appliedVersion: number }
  /** A version the agent reverted (or older): not applied again; report the revert again. */
  | { kind: 'reverted'; version: number; revertedVersion: number };

/** What the decision needs to know about the running agent. */
export interface DecisionState {
  /** The config file as loaded (desired state is merged over this, never over a previous merge). */
  readonly fileConfig: AgentConfig;
  /** The config every layer runs now (what cannot change live is compared against it). */
  readonly running: AgentConfig;
  readonly appliedVersion: number | null;
  /** The last version the agent reverted by itself; it and older ones are not applied again. */
  readonly revertedVersion?: number | null;
}

/** Just enough of a desired payload to name the version we refuse. */
const VersionOnlySchema = z.looseObject({ version: z.number().int().min(1) });

/**
 * The config a desired state makes, accepted by every layer (pure): merged over the file config
 * and compiled the way the registrar, proxy and media layers will compile it.
 */
export function compileDesired(
  fileConfig: AgentConfig,
  running: AgentConfig,
  desired: DesiredState,
): Result<AgentConfig, FieldIssue[]> {
  const merged = mergeDesired(fileConfig, desired);
  if (!merged.ok) return merged;
  const issues = checkLayers(running, merged.value);
  return issues.length === 0 ? ok(merged.value) : err(issues);
}

/** Decides how a raw `desired` payload changes the running config (pure). */
export function decideDesired(payload: Uint8Array | string, state: DecisionState): DesiredDecision {
  const decoded = decode(DesiredStateSchema, payload);
  if (!decoded.ok) {
    const e = decoded.error;
    const errors: FieldIssue[] =
      e.code === 'invalid'
        ? e.issues
        : e.code === 'not-json'
          ? [{ path: '(payload)', message: `not JSON: ${e.message}` }]
          : [{ path: '(payload)', message: `payload too large (${e.bytes} bytes)` }];
    const version = e.code === 'invalid' ? decode(VersionOnlySchema, payload) : undefined;
    return version?.ok
      ? { kind: 'reject', rejectedVersion: version.value.version, errors }
      : { kind: 'reject', errors };
  }
  const desired = decoded.value;
  const { appliedVersion, revertedVersion } = state;
  if (appliedVersion !== null && desired.version === appliedVersion) {
    return { kind: 'duplicate', version: desired.version };
  }
  if (appliedVersion !== null && desired.version < appliedVersion) {
    return { kind: 'stale', version: desired.version, appliedVersion };
  }
  if (revertedVersion != null && desired.version <= revertedVersion) {
    return { kind: 'reverted', version: desired.version, revertedVersion };
  }
  const compiled = compileDesired(state.fileConfig, state.running, desired);
  if (!compiled.ok) return { kind: 'reject', rejectedVersion: desired.version, errors: compiled.error };
  return { kind: 'apply', desired, config: compiled.value };
}
