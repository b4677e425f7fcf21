interface StatusBadgeProps {
  online: boolean;
}

/** The agent's MQTT presence (its retained `status`, `offline` via last will). */
export function StatusBadge({ online }: StatusBadgeProps) {
  const state = online ? 'online' : 'offline';
  return <span className={`badge badge-${state}`}>{state}</span>;
}
