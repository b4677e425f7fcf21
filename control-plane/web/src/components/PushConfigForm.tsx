import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useTRPC } from '../trpc.js';
import { ErrorMessage } from './ErrorMessage.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

interface PushConfigFormProps {
  agentId: string;
  appliedVersion: number | null;
  /** The latest pushed `DesiredState` (opaque JSON), used to prefill the form. */
  latestPayload: unknown;
}

/** Reads `config.domains` / `config.logLevel` out of a stored desired state, if present. */
function previousConfig(payload: unknown): { domains: string[]; logLevel: LogLevel } {
  const fallback = { domains: [] as string[], logLevel: 'info' as LogLevel };
  if (typeof payload !== 'object' || payload === null || !('config' in payload)) return fallback;
  const config = payload.config;
  if (typeof config !== 'object' || config === null) return fallback;
  const domains =
    'domains' in config && Array.isArray(config.domains)
      ? config.domains.filter((d): d is string => typeof d === 'string')
      : [];
  const level = 'logLevel' in config ? config.logLevel : undefined;
  const logLevel = LOG_LEVELS.find((l) => l === level) ?? 'info';
  return { domains, logLevel };
}

/** "a.example, b.example\nc.example" → ["a.example", "b.example", "c.example"]. */
export function parseDomains(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((d) => d.trim().toLowerCase())
    .filter((d) => d.length > 0);
}

/** Pushes a new immutable desired-state version (domains + log level; no users or policies yet). */
export function PushConfigForm({ agentId, appliedVersion, latestPayload }: PushConfigFormProps) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const initial = previousConfig(latestPayload);
  const [domains, setDomains] = useState(initial.domains.join('\n'));
  const [logLevel, setLogLevel] = useState<LogLevel>(initial.logLevel);
  const domainsId = useId();
  const levelId = useId();

  const push = useMutation(
    trpc.agents.pushDesired.mutationOptions({
      onSuccess: async () => {
        await Promise.all([
          queryClient.invalidateQueries({ queryKey: trpc.agents.list.queryKey() }),
          queryClient.invalidateQueries({ queryKey: trpc.agents.get.queryKey({ agentId }) }),
        ]);
      },
    }),
  );

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const list = parseDomains(domains);
    push.mutate({
      agentId,
      // An empty list would be invalid; leaving `domains` out keeps the agent's local value.
      config: list.length > 0 ? { domains: list, logLevel } : { logLevel },
      users: [],
      policies: {},
    });
  }

  const pushed = push.data?.version;
  return (
    <form className="push-config" onSubmit={onSubmit}>
      <h3>Push config</h3>
      <div className="field">
        <label htmlFor={domainsId}>Domains</label>
        <textarea
          id={domainsId}
          rows={3}
          value={domains}
          onChange={(e) => setDomains(e.target.value)}
          placeholder={'sip.example.com\npbx.example.com'}
        />
        <span className="hint">One per line (or comma-separated). Leave empty to keep the agent's own.</span>
      </div>
      <div className="field">
        <label htmlFor={levelId}>Log level</label>
        <select id={levelId} value={logLevel} onChange={(e) => setLogLevel(e.target.value as LogLevel)}>
          {LOG_LEVELS.map((l) => (
            <option key={l} value={l}>
              {l}
            </option>
          ))}
        </select>
      </div>
      <ErrorMessage error={push.error} title="Push failed" />
      {pushed !== undefined ? (
        <p className="success" role="status" data-testid="pushed-version">
          Pushed version v{pushed}
          {appliedVersion === pushed ? ' — applied by the agent.' : ' — waiting for the agent to apply it…'}
        </p>
      ) : null}
      <button type="submit" className="primary" disabled={push.isPending}>
        {push.isPending ? 'Pushing…' : 'Push config'}
      </button>
    </form>
  );
}
