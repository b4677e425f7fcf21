import { fieldLabel } from '../lib/errors.js';
import { formatAgo, formatDateTime, formatVersion } from '../lib/format.js';

interface PresenceFacts {
  online: boolean;
  enrolled: boolean;
  lastSeenAt: string | null;
}

/**
 * The agent's MQTT presence: `online`, or `offline` with when it was last seen, or that it never
 * enrolled. Never "last seen … ago" beside "online".
 */
export function Presence({ agent, now }: { agent: PresenceFacts; now: number }) {
  if (!agent.enrolled) return <span className="badge badge-waiting">not enrolled</span>;
  if (agent.online) return <span className="badge badge-online">online</span>;
  return (
    <span className="presence">
      <span className="badge badge-offline">offline</span>
      <span className="muted small" title={formatDateTime(agent.lastSeenAt)}>
        {agent.lastSeenAt ? ` last seen ${formatAgo(agent.lastSeenAt, now)}` : ' never seen'}
      </span>
    </span>
  );
}

interface ConfigFacts {
  enrolled: boolean;
  configState: 'unmanaged' | 'pending' | 'applied' | 'rejected' | 'reverted';
  appliedVersion: number | null;
  desiredVersion: number | null;
  rejectedVersion: number | null;
  errors: readonly { path: string; message: string }[];
}

/**
 * Where the agent stands with its config, in words: `v3 applied`, `v3 pending (runs v2)`,
 * `v3 rejected` with the reasons, or that nothing has been pushed yet.
 */
export function ConfigStatus({ agent }: { agent: ConfigFacts }) {
  const desired = formatVersion(agent.desiredVersion);
  switch (agent.configState) {
    case 'unmanaged':
      return <span className="muted">{agent.enrolled ? 'no config pushed yet' : '—'}</span>;
    case 'applied':
      return (
        <span>
          {desired} <span className="tag tag-applied">applied</span>
        </span>
      );
    case 'pending':
      return (
        <span>
          {desired} <span className="tag tag-pending">pending</span>
          {agent.appliedVersion !== null ? (
            <span className="muted small"> runs {formatVersion(agent.appliedVersion)}</span>
          ) : null}
        </span>
      );
    default:
      return (
        <div>
          {formatVersion(agent.rejectedVersion)} <span className="tag tag-rejected">{agent.configState}</span>
          {agent.appliedVersion !== null ? (
            <span className="muted small"> runs {formatVersion(agent.appliedVersion)}</span>
          ) : null}
          {agent.errors.length > 0 ? (
            <ul className="reported-errors">
              {agent.errors.map((e) => (
                <li key={`${e.path}:${e.message}`}>
                  {e.path ? `${fieldLabel(e.path)}: ` : ''}
                  {e.message}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      );
  }
}
