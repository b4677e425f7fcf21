import { isTRPCClientError } from '@trpc/client';
import { type ReactNode, useId, useState } from 'react';
import { CopyButton } from '../../components/CopyButton.js';
import { ErrorMessage } from '../../components/ErrorMessage.js';
import './changes.css';

/** One field problem as the server sends it (`data.issues`). */
export interface Issue {
  path: string;
  message: string;
  field?: string;
  value?: unknown;
  text?: string;
}

/** The server's field issues of an error (zod input errors and typed domain errors), or `[]`. */
export function issuesOf(error: unknown): Issue[] {
  if (!isTRPCClientError(error)) return [];
  const data = error.data as { issues?: unknown } | undefined;
  if (!Array.isArray(data?.issues)) return [];
  return data.issues.filter(
    (i): i is Issue => typeof i === 'object' && i !== null && 'path' in i && 'message' in i,
  );
}

/** The issues at `path` or below it (`config.domains` matches `config.domains.2`). */
export function issuesAt(error: unknown, path: string): Issue[] {
  return issuesOf(error).filter((i) => i.path === path || i.path.startsWith(`${path}.`));
}

/** The line shown beside a field: the server's `text` (field, value, reason), else its message. */
export function issueText(i: Issue): string {
  return i.text ?? i.message;
}

/** Field errors shown beside the field they name (`role="alert"` so screen readers hear them). */
export function FieldIssues({ error, path, id }: { error: unknown; path: string; id?: string }) {
  const mine = issuesAt(error, path);
  if (mine.length === 0) return null;
  return (
    <span className="field-error" role="alert" id={id} data-field={path}>
      {mine.map(issueText).join('; ')}
    </span>
  );
}

/**
 * A secret the server returns once (a SIP password, an enrollment token, an invitation link): shown
 * with a copy button until the operator dismisses it; it is never fetched again.
 */
export function OneTimeSecret(props: { label: string; value: string; onDone: () => void; note?: string }) {
  return (
    <div className="one-time" role="status">
      <p>
        <strong>{props.label}</strong> — shown once; copy it now.
        {props.note ? ` ${props.note}` : null}
      </p>
      <div className="one-time-row">
        <code className="secret" data-testid="one-time-secret">
          {props.value}
        </code>
        <CopyButton text={props.value} label={`Copy ${props.label}`} />
        <button type="button" onClick={props.onDone}>
          Done
        </button>
      </div>
    </div>
  );
}

/**
 * A destructive action behind a confirmation that names the thing: the first click asks
 * "Delete site “HQ”?", the second does it.
 */
export function ConfirmButton(props: {
  label: string;
  question: string;
  onConfirm: () => void;
  pending?: boolean;
  danger?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking)
    return (
      <button type="button" className={props.danger ? 'danger' : undefined} onClick={() => setAsking(true)}>
        {props.label}
      </button>
    );
  return (
    <span className="confirm">
      <span className="confirm-question">{props.question}</span>
      <button
        type="button"
        className="danger"
        disabled={props.pending}
        onClick={() => {
          props.onConfirm();
          setAsking(false);
        }}
      >
        Yes, {props.label.toLowerCase()}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

/** A labelled input row with its field errors beside it. */
export function Field(props: {
  label: string;
  path?: string;
  error?: unknown;
  hint?: ReactNode;
  children: (id: string) => ReactNode;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      {props.children(id)}
      {props.hint ? <span className="hint">{props.hint}</span> : null}
      {props.path ? <FieldIssues error={props.error} path={props.path} /> : null}
    </div>
  );
}

/** A mutation's error when it is not about one field already shown beside its input. */
export function FormError({ error, fields, title }: { error: unknown; fields: string[]; title: string }) {
  if (!error) return null;
  const issues = issuesOf(error);
  if (
    issues.length > 0 &&
    issues.every((i) => fields.some((f) => i.path === f || i.path.startsWith(`${f}.`)))
  )
    return null;
  return <ErrorMessage error={error} title={title} />;
}

/** "pending", "loading" and "error" states of a query, in one place. */
export function QueryState(props: { query: { isPending: boolean; error: unknown }; what: string }) {
  if (props.query.isPending) return <p className="muted">Loading {props.what}…</p>;
  if (props.query.error)
    return <ErrorMessage error={props.query.error} title={`Could not load ${props.what}`} />;
  return null;
}
