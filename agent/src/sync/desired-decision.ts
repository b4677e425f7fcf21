import {
  type AgentConfig,
  type DesiredState,
  DesiredStateSchema,
  decode,
  type FieldIssue,
} from '@sipwall/shared';
import { z } from 'zod';
import { mergeDesired } from './merge-desired.js';

/** What to do with one `desired` message. */
export type DesiredDecision =
  | { kind: 'apply'; desired: DesiredState; config: AgentConfig }
  | { kind: 'reject'; rejectedVersion?: number; errors: FieldIssue[] }
  /** Same version as applied (retained redelivery): nothing to apply, report again. */
  | { kind: 'duplicate'; version: number }
  /** Older than applied: ignore. */
  | { kind: 'stale'; version: number; appliedVersion: number };

/** Just enough of a desired payload to name the version we refuse. */
const VersionOnlySchema = z.looseObject({ version: z.number().int().min(1) });

/** Decides how a raw `desired` payload changes the running config (pure). */
export function decideDesired(
  payload: Uint8Array | string,
  fileConfig: AgentConfig,
  appliedVersion: number | null,
): DesiredDecision {
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
  if (appliedVersion !== null && desired.version === appliedVersion) {
    return { kind: 'duplicate', version: desired.version };
  }
  if (appliedVersion !== null && desired.version < appliedVersion) {
    return { kind: 'stale', version: desired.version, appliedVersion };
  }
  const merged = mergeDesired(fileConfig, desired);
  if (!merged.ok) return { kind: 'reject', rejectedVersion: desired.version, errors: merged.error };
  return { kind: 'apply', desired, config: merged.value };
}
