import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'wouter';
import { ErrorMessage } from '../../components/ErrorMessage.js';
import { type Role, roleAtLeast } from '../../lib/roles.js';
import { agentPath, sitePath } from '../../lib/route-links.js';
import { type AgentSummary, useTRPC } from '../../trpc.js';
import { FieldIssues, QueryState } from './common.js';
import { progressOf } from './progress.js';
import { layerFromTexts, POLICY_FIELDS, type PolicyField } from './effective.js';

/** The fields a bulk change can set (the same as the policy editor; empty = leave as is). */
const PATCH_FIELDS: readonly PolicyField[] = POLICY_FIELDS;

/**
 * Push a change to one site or a selection: choose sites, set the fields to change, preview the
 * diff per site and agent, push now or through canary sites first; progress per site; rollouts;
 * roll an agent back to an earlier version.
 */
export function PushPanel(props: { organizationId: string; role: Role }) {
  const { organizationId, role } = props;
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const sites = useQuery(trpc.sites.list.queryOptions({ organizationId }));
  const agents = useQuery({ ...trpc.agents.list.queryOptions({ organizationId }), refetchInterval: 3_000 });
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [canaries, setCanaries] = useState<ReadonlySet<string>>(new Set());
  const [texts, setTexts] = useState<Record<string, string>>({});
  const patch = layerFromTexts({ config: {}, policies: {} }, texts);
  const patchInput = {
    ...(Object.keys(patch.config).length > 0 ? { config: patch.config } : {}),
    ...(Object.keys(patch.policies).length > 0 ? { policies: patch.policies } : {}),
  };
  const [previewFor, setPreviewFor] = useState<string | null>(null);
  const selection = [...selected];
  const previewKey = JSON.stringify({ selection, patchInput });
  const preview = useQuery({
    ...trpc.changes.preview.queryOptions({ organizationId, siteIds: selection, ...patchInput } as never),
    enabled: previewFor === previewKey && selection.length > 0,
  });
  const start = useMutation(
    trpc.rollouts.start.mutationOptions({
      onSuccess: () => {
        // The preview described the state before this push.
        setPreviewFor(null);
        return Promise.all([
          queryClient.invalidateQueries({ queryKey: trpc.rollouts.list.queryKey() }),
          queryClient.invalidateQueries({ queryKey: trpc.agents.list.queryKey() }),
          queryClient.invalidateQueries({ queryKey: trpc.sites.getConfig.queryKey() }),
        ]);
      },
    }),
  );
  const canPush = roleAtLeast(role, 'admin');
  const allIds = (sites.data ?? []).map((s) => s.id);
  const allSelected = allIds.length > 0 && allIds.every((id) => selected.has(id));
  const toggle = (set: ReadonlySet<string>, id: string) => {
    const next = new Set(set);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    return next;
  };
  const bySite = new Map<string, AgentSummary[]>();
  for (const a of agents.data ?? []) bySite.set(a.siteId, [...(bySite.get(a.siteId) ?? []), a]);

  function push(staged: boolean) {
    const canary = staged ? selection.filter((id) => canaries.has(id)) : [];
    start.mutate({ organizationId, siteIds: selection, canarySiteIds: canary, ...patchInput } as never);
  }

  return (
    <section className="changes push-panel" aria-labelledby="push-h">
      <h2 id="push-h">Push a change</h2>
      <QueryState query={sites} what="sites" />
      {sites.data && sites.data.length === 0 ? <p className="empty">No sites yet.</p> : null}
      {sites.data && sites.data.length > 0 ? (
        <table className="fixed sites-select">
          <thead>
            <tr>
              <th className="check">
                <input
                  type="checkbox"
                  aria-label="Select all sites"
                  checked={allSelected}
                  onChange={() => setSelected(allSelected ? new Set() : new Set(allIds))}
                />
              </th>
              <th>Site</th>
              <th className="check">Canary</th>
              <th className="num">Applied</th>
              <th className="num">Pending</th>
              <th className="num">Failed</th>
            </tr>
          </thead>
          <tbody>
            {sites.data.map((s) => {
              const p = progressOf(bySite.get(s.id) ?? []);
              return (
                <tr key={s.id} data-testid="push-site-row" data-site={s.name}>
                  <td className="check">
                    <input
                      type="checkbox"
                      aria-label={`Select ${s.name}`}
                      checked={selected.has(s.id)}
                      onChange={() => setSelected((cur) => toggle(cur, s.id))}
                    />
                  </td>
                  <td>
                    <Link href={sitePath(organizationId, s.id)}>{s.name}</Link>
                  </td>
                  <td className="check">
                    <input
                      type="checkbox"
                      aria-label={`${s.name} is a canary`}
                      checked={canaries.has(s.id)}
                      disabled={!selected.has(s.id)}
                      onChange={() => setCanaries((cur) => toggle(cur, s.id))}
                    />
                  </td>
                  <td className="num tabular" data-testid="applied">
                    {p.applied}
                  </td>
                  <td className="num tabular" data-testid="pending">
                    {p.pending}
                  </td>
                  <td className={`num tabular${p.failed > 0 ? ' bad' : ''}`} data-testid="failed">
                    {p.failed}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}

      <fieldset className="patch">
        <legend>Change (empty fields stay as they are on each site)</legend>
        {PATCH_FIELDS.map((f) => (
          <div className="field" key={f.path}>
            <label htmlFor={`patch-${f.path}`}>{f.label}</label>
            {f.type.kind === 'bool' || f.type.kind === 'enum' ? (
              <select
                id={`patch-${f.path}`}
                value={texts[f.path] ?? ''}
                onChange={(e) => setTexts((t) => ({ ...t, [f.path]: e.target.value }))}
              >
                <option value="">(no change)</option>
                {(f.type.kind === 'bool' ? ['true', 'false'] : f.type.options).map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
            ) : (
              <input
                id={`patch-${f.path}`}
                value={texts[f.path] ?? ''}
                placeholder={f.hint ?? ''}
                onChange={(e) => setTexts((t) => ({ ...t, [f.path]: e.target.value }))}
              />
            )}
            <FieldIssues error={start.error ?? preview.error} path={f.path} />
          </div>
        ))}
      </fieldset>

      <div className="actions">
        <button type="button" disabled={selection.length === 0} onClick={() => setPreviewFor(previewKey)}>
          Preview ({selection.length} site{selection.length === 1 ? '' : 's'})
        </button>
        {canPush ? (
          <>
            <button
              type="button"
              className="primary"
              disabled={selection.length === 0 || start.isPending}
              onClick={() => push(false)}
            >
              Push now
            </button>
            <button
              type="button"
              disabled={selection.length === 0 || canaries.size === 0 || start.isPending}
              onClick={() => push(true)}
              title="The canary sites first; the rest when every canary agent applied it"
            >
              Staged rollout (canaries first)
            </button>
          </>
        ) : (
          <span className="muted">Pushing needs the admin role.</span>
        )}
      </div>
      <ErrorMessage error={start.error} title="Not pushed" />
      {start.data ? (
        <p className="success" role="status" data-testid="rollout-started">
          Rollout{' '}
          {start.data.state === 'canary' ? 'started on the canary sites' : 'pushed to every selected site'}.
        </p>
      ) : null}
      {previewFor === previewKey ? <PreviewView preview={preview} organizationId={organizationId} /> : null}
      <RolloutsList
        organizationId={organizationId}
        role={role}
        siteNames={new Map((sites.data ?? []).map((s) => [s.id, s.name]))}
      />
      <RollbackForm organizationId={organizationId} role={role} agents={agents.data ?? []} />
    </section>
  );
}

function PreviewView(props: {
  organizationId: string;
  preview: { isPending: boolean; error: unknown; data?: unknown };
}) {
  type Preview = {
    siteId: string;
    siteName: string;
    ok: boolean;
    issues?: { path: string; message: string }[];
    agents?: {
      agentId: string;
      name: string;
      latestVersion: number | null;
      changes: { path: string; kind: string; before?: unknown; after?: unknown }[];
    }[];
  }[];
  if (props.preview.isPending || props.preview.error)
    return <QueryState query={props.preview} what="the preview" />;
  const data = props.preview.data as Preview;
  return (
    <section className="preview" aria-label="Preview" data-testid="preview">
      <h3>Preview</h3>
      {data.map((s) => (
        <div key={s.siteId} className="preview-site">
          <h4>{s.siteName}</h4>
          {!s.ok ? (
            <ul className="field-error">
              {s.issues?.map((i) => (
                <li key={i.path}>
                  {i.path}: {i.message}
                </li>
              ))}
            </ul>
          ) : s.agents?.length === 0 ? (
            <p className="muted">No agents.</p>
          ) : (
            s.agents?.map((a) => (
              <div key={a.agentId}>
                <Link href={agentPath(props.organizationId, a.agentId)}>{a.name}</Link>{' '}
                <span className="muted">(now v{a.latestVersion ?? '—'})</span>
                {a.changes.length === 0 ? (
                  <span className="muted"> — no change</span>
                ) : (
                  <ul className="diff">
                    {a.changes.map((c) => (
                      <li key={c.path} className={`diff-${c.kind}`}>
                        <code>{c.path}</code>:{' '}
                        {c.kind === 'added' ? '' : <del>{JSON.stringify(c.before)}</del>}
                        {c.kind === 'removed' ? '' : <ins>{JSON.stringify(c.after)}</ins>}
                      </li>
                    ))}
                  </ul>
                )}
              </div>
            ))
          )}
        </div>
      ))}
    </section>
  );
}

function RolloutsList(props: { organizationId: string; role: Role; siteNames: Map<string, string> }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useQuery({
    ...trpc.rollouts.list.queryOptions({ organizationId: props.organizationId }),
    refetchInterval: 5_000,
  });
  const advance = useMutation(
    trpc.rollouts.advance.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.rollouts.list.queryKey() }),
    }),
  );
  const names = (ids: string[]) => ids.map((id) => props.siteNames.get(id) ?? id.slice(0, 8)).join(', ');
  return (
    <section aria-labelledby="rollouts-h">
      <h3 id="rollouts-h">Rollouts</h3>
      <QueryState query={list} what="rollouts" />
      {list.data && list.data.length === 0 ? <p className="empty">No rollouts yet.</p> : null}
      {list.data && list.data.length > 0 ? (
        <table className="fixed">
          <thead>
            <tr>
              <th className="when">Started</th>
              <th className="narrow">State</th>
              <th>Canary sites</th>
              <th>Other sites</th>
              <th className="narrow" />
            </tr>
          </thead>
          <tbody>
            {list.data.slice(0, 20).map((r) => (
              <tr key={r.id} data-testid="rollout-row">
                <td className="tabular">{new Date(r.createdAt).toLocaleString()}</td>
                <td className={`state-${r.state}`}>
                  {r.state}
                  {r.reason ? <span className="hint">{r.reason}</span> : null}
                </td>
                <td>{names(r.canarySiteIds) || '—'}</td>
                <td>{names(r.restSiteIds) || '—'}</td>
                <td>
                  {r.state === 'canary' && roleAtLeast(props.role, 'admin') ? (
                    <button type="button" onClick={() => advance.mutate({ rolloutId: r.id })}>
                      Check canaries
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <ErrorMessage error={advance.error} />
    </section>
  );
}

/** Roll one agent back to an earlier version: pick the agent, see its versions and the diff, roll back. */
function RollbackForm(props: { organizationId: string; role: Role; agents: AgentSummary[] }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [agentId, setAgentId] = useState('');
  const [version, setVersion] = useState<number | null>(null);
  const agent = useQuery({ ...trpc.agents.get.queryOptions({ agentId }), enabled: agentId !== '' });
  const latest = agent.data?.configVersions[0]?.version ?? null;
  const diff = useQuery({
    ...trpc.agents.diff.queryOptions({ agentId, from: latest ?? 1, to: version ?? 1 }),
    enabled: agentId !== '' && latest !== null && version !== null && version !== latest,
  });
  const rollback = useMutation(
    trpc.agents.rollback.mutationOptions({
      onSuccess: () =>
        Promise.all([
          queryClient.invalidateQueries({ queryKey: trpc.agents.get.queryKey({ agentId }) }),
          queryClient.invalidateQueries({ queryKey: trpc.agents.list.queryKey() }),
        ]),
    }),
  );
  if (!roleAtLeast(props.role, 'operator')) return null;
  const current = props.agents.find((a) => a.id === agentId);
  // A rollback keeps the site's current SIP users: only config and policy changes are restored.
  const restored = diff.data?.changes.filter((c) => !c.path.startsWith('users.')) ?? [];
  return (
    <section aria-labelledby="rollback-h" className="rollback">
      <h3 id="rollback-h">Roll back an agent</h3>
      <div className="field">
        <label htmlFor="rollback-agent">Agent</label>
        <select
          id="rollback-agent"
          value={agentId}
          onChange={(e) => {
            setAgentId(e.target.value);
            setVersion(null);
          }}
        >
          <option value="">(choose an agent)</option>
          {props.agents.map((a) => (
            <option key={a.id} value={a.id}>
              {a.siteName} / {a.name}
            </option>
          ))}
        </select>
      </div>
      {current ? (
        <p className="muted tabular" data-testid="rollback-agent-state">
          desired v{current.desiredVersion ?? '—'}, applied v{current.appliedVersion ?? '—'} (
          {current.configState})
        </p>
      ) : null}
      {agent.data ? (
        <div className="field">
          <label htmlFor="rollback-version">Version</label>
          <select
            id="rollback-version"
            value={version ?? ''}
            onChange={(e) => setVersion(e.target.value === '' ? null : Number(e.target.value))}
          >
            <option value="">(choose a version)</option>
            {agent.data.configVersions.map((v) => (
              <option key={v.version} value={v.version}>
                v{v.version} — {new Date(v.createdAt).toLocaleString()}
                {v.version === latest ? ' (latest)' : ''}
              </option>
            ))}
          </select>
        </div>
      ) : null}
      {diff.data ? (
        <ul className="diff" data-testid="rollback-diff">
          {restored.length === 0 ? <li className="muted">Same config and policies as the latest.</li> : null}
          {restored.map((c) => (
            <li key={c.path}>
              <code>{c.path}</code>: <del>{JSON.stringify(c.before)}</del>{' '}
              <ins>{JSON.stringify(c.after)}</ins>
            </li>
          ))}
        </ul>
      ) : null}
      {agent.data ? (
        <p className="muted">
          Restores that version's config and policies. SIP users stay as they are now (a deleted user or an
          old password never comes back).
        </p>
      ) : null}
      <button
        type="button"
        disabled={version === null || rollback.isPending}
        onClick={() => version !== null && rollback.mutate({ agentId, version })}
      >
        Roll back to v{version ?? '…'}
      </button>
      <ErrorMessage error={rollback.error} title="Rollback failed" />
      {rollback.data ? (
        <p className="success" role="status" data-testid="rollback-done">
          Published v{rollback.data.version} with the config and policies of v{version} and the current SIP
          users.
        </p>
      ) : null}
    </section>
  );
}
