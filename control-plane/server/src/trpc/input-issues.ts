import type { FieldIssue } from '@sipwall/shared';
import type { ZodError } from 'zod';

/** Input fields whose values are never echoed back in an error. */
const SECRET_KEY = /password|token|secret|ha1/i;

/** Longest echoed value (JSON text), so an error never carries a whole payload back. */
const MAX_VALUE_CHARS = 200;

/** `['config', 'domains', 2]` → `config.domains[2]`: how a person names a field. */
export function fieldName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const k of path) {
    if (typeof k === 'number') out += `[${k}]`;
    else out += out === '' ? String(k) : `.${String(k)}`;
  }
  return out === '' ? '(input)' : out;
}

/** The value at `path` in `input`, or `undefined` when there is none (or it is a secret). */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  if (path.some((k) => SECRET_KEY.test(String(k)))) return undefined;
  let cur: unknown = input;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

/** The offending value as the operator typed it: strings quoted, bounded in size. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 3)}...` : text;
}

/** One input problem: its dotted `path` (clients match on it), the field as written, the bad value. */
export interface InputIssue extends FieldIssue {
  /** `config.domains[2]`. */
  field: string;
  /** The offending value (absent for secrets and missing values). */
  value?: unknown;
  /** `config.domains[2] "exa mple.com": not a valid domain name`. */
  text: string;
}

/**
 * A zod input error as issues a person can act on: each names the field and, unless it is a
 * secret or missing, the bad value.
 */
export function inputIssues(error: ZodError, input: unknown): InputIssue[] {
  return error.issues.map((issue) => {
    const path = issue.path as PropertyKey[];
    const field = fieldName(path);
    const value = valueAt(input, path);
    const dotted = path.length === 0 ? '(root)' : path.map(String).join('.');
    const base = { path: dotted, message: issue.message, field };
    if (value === undefined) return { ...base, text: `${field}: ${issue.message}` };
    const echoed = (JSON.stringify(value)?.length ?? 0) > MAX_VALUE_CHARS ? shown(value) : value;
    return { ...base, value: echoed, text: `${field} ${shown(value)}: ${issue.message}` };
  });
}

/** The error's message: one line per issue (`domains[2] "exa mple.com": not a valid domain name`). */
export function inputErrorMessage(issues: readonly InputIssue[]): string {
  return issues.map((i) => i.text).join('\n');
}
