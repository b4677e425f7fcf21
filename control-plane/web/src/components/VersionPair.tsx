import { formatVersion } from '../lib/format.js';

interface VersionPairProps {
  applied: number | null | undefined;
  desired: number | null | undefined;
}

/** "v2 / v3 (pending)": what the agent runs against what the control plane wants it to run. */
export function VersionPair({ applied, desired }: VersionPairProps) {
  const inSync = desired === null || desired === undefined || applied === desired;
  return (
    <span className="versions">
      <span className="version-applied">{formatVersion(applied)}</span>
      <span className="muted"> / {formatVersion(desired)}</span>
      {inSync ? null : <span className="tag tag-pending">pending</span>}
    </span>
  );
}
