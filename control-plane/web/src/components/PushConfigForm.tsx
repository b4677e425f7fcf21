import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useTRPC } from '../trpc.js';
import { ErrorMessage } from './ErrorMessage.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

interface PushConfigFormProps {
  siteId: string;
  agentId: string;
  appliedVersion: number | null;
}

/** "a.example, b.example\nc.example" → ["a.example", "b.example", "c.example"]. */
export function parseDomains(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((d) => d.trim().toLowerCase())
    .filter((d) => d.length > 0);
}

/**
 * Edits the site's managed domains and log level through `sites.setConfig`: the control plane
 * recompiles the site (its SIP users and policies stay as they are) and pushes every agent of the
 * site whose content changed. Other managed settings of the site are kept.
 */
export function PushConfigForm({ siteId, agentId, appliedVersion }: PushConfigFormProps) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const current = useQuery(trpc.sites.getConfig.queryOptions({ siteId }));
  if (current.isPending) return <p className="muted">Loading the site's config…</p>;
  if (current.error) return <ErrorMessage error={current.error} title="Could not load the site's config" />;
  return (
    <SiteConfigForm
      siteId={siteId}
      agentId={agentId}
      appliedVersion={appliedVersion}
      siteConfig={current.data.site.config}
      inherited={current.data.organization.config}
      onSaved={() =>
        Promise.all([
          queryClient.invalidateQueries({ queryKey: trpc.agents.list.queryKey() }),
          queryClient.invalidateQueries({ queryKey: trpc.agents.get.queryKey({ agentId }) }),
          queryClient.invalidateQueries({ queryKey: trpc.sites.getConfig.queryKey({ siteId }) }),
        ])
      }
    />
  );
}

type ManagedConfig = { domains?: string[] | undefined; logLevel?: LogLevel | undefined } & Record<
  string,
  unknown
>;

function SiteConfigForm(props: {
  siteId: string;
  agentId: string;
  appliedVersion: number | null;
  siteConfig: ManagedConfig;
  inherited: ManagedConfig;
  onSaved: () => Promise<unknown>;
}) {
  const { siteId, agentId, appliedVersion, siteConfig, inherited } = props;
  const trpc = useTRPC();
  const [domains, setDomains] = useState((siteConfig.domains ?? []).join('\n'));
  const [logLevel, setLogLevel] = useState<LogLevel>(siteConfig.logLevel ?? inherited.logLevel ?? 'info');
  const domainsId = useId();
  const levelId = useId();

  const push = useMutation(trpc.sites.setConfig.mutationOptions({ onSuccess: props.onSaved }));

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const list = parseDomains(domains);
    // The site's other managed settings stay; an empty list drops the site's domains (inherit).
    const { domains: _old, ...rest } = siteConfig;
    push.mutate({ siteId, config: { ...rest, ...(list.length > 0 ? { domains: list } : {}), logLevel } });
  }

  const mine = push.data?.pushed.find((p) => p.agentId === agentId);
  const pushed = mine?.version ?? undefined;
  return (
    <form className="push-config" onSubmit={onSubmit}>
      <h3>Site config</h3>
      <p className="hint">Applies to every agent of this site; SIP users and policies are kept.</p>
      <div className="field">
        <label htmlFor={domainsId}>Domains</label>
        <textarea
          id={domainsId}
          rows={3}
          value={domains}
          onChange={(e) => setDomains(e.target.value)}
          placeholder={'sip.example.com\npbx.example.com'}
        />
        <span className="hint">
          One per line (or comma-separated). Leave empty to inherit (organization, else the agent's own).
        </span>
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
          {mine?.changed ? 'Pushed version' : 'No change; the agent already has version'} v{pushed}
          {appliedVersion === pushed ? ' — applied by the agent.' : ' — waiting for the agent to apply it…'}
        </p>
      ) : null}
      <button type="submit" className="primary" disabled={push.isPending}>
        {push.isPending ? 'Pushing…' : 'Push config'}
      </button>
    </form>
  );
}
