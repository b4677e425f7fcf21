import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { type Role, roleAtLeast } from '../../lib/roles.js';
import { useTRPC } from '../../trpc.js';
import { FieldIssues, FormError, QueryState } from './common.js';
import {
  effectiveAt,
  type Layer,
  layerFromTexts,
  POLICY_FIELDS,
  type PolicyField,
  SOURCE_LABEL,
  textsOf,
  toText,
} from './effective.js';

/**
 * The organization's policy (no `siteId`) or one site's overrides. At site level each field shows
 * the organization's value, the site's override (empty = inherit) and the effective value with its
 * source. Errors from the server are shown beside the field they name.
 */
export function PolicyEditor(props: { organizationId: string; siteId?: string; role: Role }) {
  const trpc = useTRPC();
  const org = useQuery(trpc.organizations.getConfig.queryOptions({ organizationId: props.organizationId }));
  const site = useQuery({
    ...trpc.sites.getConfig.queryOptions({ siteId: props.siteId ?? '' }),
    enabled: props.siteId !== undefined,
  });
  if (props.siteId === undefined) {
    if (org.isPending || org.error) return <QueryState query={org} what="the organization policy" />;
    return (
      <LayerForm
        key={JSON.stringify(org.data)}
        organizationId={props.organizationId}
        role={props.role}
        layer={org.data as Layer}
      />
    );
  }
  if (site.isPending || site.error) return <QueryState query={site} what="the site's config" />;
  return (
    <LayerForm
      key={JSON.stringify(site.data)}
      organizationId={props.organizationId}
      siteId={props.siteId}
      role={props.role}
      layer={site.data.site as Layer}
      inherited={site.data.organization as Layer}
    />
  );
}

function LayerForm(props: {
  organizationId: string;
  siteId?: string;
  role: Role;
  layer: Layer;
  inherited?: Layer;
}) {
  const { organizationId, siteId, role, layer, inherited } = props;
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [texts, setTexts] = useState(() => textsOf(layer));
  const atSite = siteId !== undefined;
  // Organization-wide changes and policies are the admin's; a site's managed config the operator's too.
  const canEdit = (f: PolicyField) => roleAtLeast(role, atSite && f.part === 'config' ? 'operator' : 'admin');
  const anyEditable = POLICY_FIELDS.some(canEdit);
  const onSuccess = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.organizations.getConfig.queryKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.sites.getConfig.queryKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.agents.list.queryKey() }),
    ]);
  const saveOrg = useMutation(trpc.organizations.setConfig.mutationOptions({ onSuccess }));
  const saveSite = useMutation(trpc.sites.setConfig.mutationOptions({ onSuccess }));
  const save = atSite ? saveSite : saveOrg;

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const next = layerFromTexts(layer, texts);
    // The server validates; values that do not parse go as typed so its error names them.
    const change = roleAtLeast(role, 'admin') ? next : { config: next.config };
    if (atSite) saveSite.mutate({ siteId, ...change } as Parameters<typeof saveSite.mutate>[0]);
    else saveOrg.mutate({ organizationId, ...change } as Parameters<typeof saveOrg.mutate>[0]);
  }

  const pushed = save.data?.pushed;
  return (
    <form
      className="changes policy-editor"
      onSubmit={onSubmit}
      aria-label={atSite ? 'Site config and policy' : 'Organization policy'}
      noValidate
    >
      {/* The settings page titles the organization level itself. */}
      {atSite ? <h2>Site config and policy</h2> : null}
      <p className="hint">
        {atSite
          ? 'Empty = inherit from the organization (else the agent file default). Saving pushes to the agents of this site.'
          : 'Sites inherit these values unless they override them. Saving pushes to every agent of the organization.'}
      </p>
      <table className="fixed policy-table">
        <thead>
          <tr>
            <th className="field-col">Field</th>
            {atSite ? <th>Organization</th> : null}
            <th>{atSite ? 'Site override' : 'Value'}</th>
            {atSite ? <th>Effective</th> : null}
            {atSite ? <th className="source-col">Source</th> : null}
          </tr>
        </thead>
        <tbody>
          {POLICY_FIELDS.map((f) => {
            const eff = inherited ? effectiveAt(inherited, layer, f.path) : null;
            const inputId = `pf-${f.path}`;
            return (
              <tr key={f.path} data-field={f.path}>
                <th scope="row">
                  <label htmlFor={inputId}>{f.label}</label>
                  {f.hint ? <span className="hint">{f.hint}</span> : null}
                </th>
                {inherited ? (
                  <td className="mono pre">
                    {toText(effectiveAt(inherited, { config: {}, policies: {} }, f.path).value, f.type) ||
                      '—'}
                  </td>
                ) : null}
                <td>
                  <FieldInput
                    id={inputId}
                    field={f}
                    value={texts[f.path] ?? ''}
                    disabled={!canEdit(f)}
                    onChange={(v) => setTexts((t) => ({ ...t, [f.path]: v }))}
                  />
                  <FieldIssues error={save.error} path={f.path} />
                </td>
                {eff ? (
                  <>
                    <td className="mono pre" data-testid="effective-value">
                      {toText(eff.value, f.type) || <span className="muted">(agent's file)</span>}
                    </td>
                    <td className={`source source-${eff.source}`} data-testid="effective-source">
                      {SOURCE_LABEL[eff.source]}
                    </td>
                  </>
                ) : null}
              </tr>
            );
          })}
        </tbody>
      </table>
      <FormError error={save.error} fields={POLICY_FIELDS.map((f) => f.path)} title="Not saved" />
      {save.isSuccess && pushed ? (
        <p className="success" role="status" data-testid="policy-saved">
          Saved; {pushed.filter((p) => p.changed).length} agent(s) got a new version.
        </p>
      ) : null}
      {anyEditable ? (
        <button type="submit" className="primary" disabled={save.isPending}>
          {save.isPending ? 'Saving…' : 'Save and push'}
        </button>
      ) : (
        <p className="muted">Your role can read this policy, not change it.</p>
      )}
    </form>
  );
}

function FieldInput(props: {
  id: string;
  field: PolicyField;
  value: string;
  disabled: boolean;
  onChange: (v: string) => void;
}) {
  const { id, field, value, disabled, onChange } = props;
  const t = field.type;
  if (t.kind === 'bool' || t.kind === 'enum') {
    const options = t.kind === 'bool' ? ['true', 'false'] : t.options;
    return (
      <select id={id} value={value} disabled={disabled} onChange={(e) => onChange(e.target.value)}>
        <option value="">(inherit)</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {t.kind === 'bool' ? (o === 'true' ? 'on' : 'off') : o}
          </option>
        ))}
      </select>
    );
  }
  if (t.kind === 'list')
    return (
      <textarea
        id={id}
        rows={Math.min(4, Math.max(1, value.split('\n').length))}
        value={value}
        disabled={disabled}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  return (
    <input
      id={id}
      inputMode="numeric"
      value={value}
      disabled={disabled}
      onChange={(e) => onChange(e.target.value)}
      placeholder={`${t.min}–${t.max}`}
    />
  );
}
