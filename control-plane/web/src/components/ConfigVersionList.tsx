import { formatDateTime } from '../lib/format.js';

interface ConfigVersion {
  version: number;
  payload?: unknown;
  createdAt: string | Date;
}

interface ConfigVersionListProps {
  versions: readonly ConfigVersion[];
  appliedVersion: number | null;
}

/** Immutable pushed versions, newest first, each expandable to what was published. */
export function ConfigVersionList({ versions, appliedVersion }: ConfigVersionListProps) {
  if (versions.length === 0) return <p className="muted">No config pushed yet.</p>;
  return (
    <div className="versions-list">
      <h3>Config history</h3>
      <ul>
        {versions.map((v) => (
          <li key={v.version}>
            <details>
              <summary>
                <strong>v{v.version}</strong>{' '}
                <span className="muted small">{formatDateTime(v.createdAt)}</span>
                {v.version === appliedVersion ? <span className="tag tag-applied">applied</span> : null}
              </summary>
              <pre className="snippet">{JSON.stringify(v.payload, null, 2)}</pre>
            </details>
          </li>
        ))}
      </ul>
    </div>
  );
}
