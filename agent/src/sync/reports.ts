import type { FieldIssue, ReportedState } from '@sipwall/shared';

/** Builds the `reported` payload for the state the agent runs now (pure). */
export function appliedReport(
  appliedVersion: number | null,
  agentVersion: string,
  now: number,
): ReportedState {
  return {
    appliedVersion,
    status: appliedVersion === null ? 'standalone' : 'applied',
    errors: [],
    agentVersion,
    reportedAt: new Date(now).toISOString(),
  };
}

/**
 * Builds the `reported` payload for a desired state that was not kept: `rejected` (refused, the
 * last good version keeps running) or `reverted` (applied, then returned from by the agent itself)
 * (pure).
 */
export function rejectedReport(
  appliedVersion: number | null,
  rejectedVersion: number | undefined,
  errors: readonly FieldIssue[],
  agentVersion: string,
  now: number,
  status: 'rejected' | 'reverted' = 'rejected',
): ReportedState {
  return {
    appliedVersion,
    status,
    ...(rejectedVersion === undefined ? {} : { rejectedVersion }),
    errors: errors.map((e) => ({ path: e.path, message: e.message })),
    agentVersion,
    reportedAt: new Date(now).toISOString(),
  };
}
