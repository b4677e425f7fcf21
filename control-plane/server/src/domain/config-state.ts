/**
 * Pure: where an agent stands with its configuration, from its desired version and its last
 * `reported` message (shared/src/mqtt/reported.ts).
 *
 * - `unmanaged`: the control plane has published nothing for it (it runs on its file).
 * - `applied`: it reported the latest desired version applied.
 * - `rejected`: it refused the latest desired version (`errors` say why); the last good one runs.
 * - `reverted`: it applied the latest version, lost the control plane, and went back by itself.
 * - `pending`: it has not answered for the latest version yet.
 */
export type ConfigState = 'unmanaged' | 'pending' | 'applied' | 'rejected' | 'reverted';

export interface AgentConfigFacts {
  desiredVersion: number | null;
  appliedVersion: number | null;
  reportedStatus: string | null;
  rejectedVersion: number | null;
}

export function configState(a: AgentConfigFacts): ConfigState {
  if (a.desiredVersion === null) return 'unmanaged';
  if (
    (a.reportedStatus === 'rejected' || a.reportedStatus === 'reverted') &&
    a.rejectedVersion === a.desiredVersion
  )
    return a.reportedStatus;
  if (a.reportedStatus === 'applied' && a.appliedVersion === a.desiredVersion) return 'applied';
  return 'pending';
}

/** Adds `configState` to an agent view. */
export function withConfigState<T extends AgentConfigFacts>(a: T): T & { configState: ConfigState } {
  return { ...a, configState: configState(a) };
}
