/**
 * Pure: the fields the policy editor shows, reading and writing them in a config layer, and the
 * effective value of each at a site with where it comes from. Objects merge field by field from
 * organization to site (lists and scalars replace whole), as the server's `compile.ts` overlays.
 */

export type Layer = { config: Record<string, unknown>; policies: Record<string, unknown> };

export type FieldKind =
  | { kind: 'list' }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'bool' }
  | { kind: 'enum'; options: readonly string[] };

export interface PolicyField {
  /** Dotted path in the layer, as the server names it in errors: `config.registrar.minExpiresSec`. */
  path: string;
  label: string;
  type: FieldKind;
  /** Policies are the admin's; managed config the operator's too (at site level). */
  part: 'config' | 'policies';
  hint?: string;
}

const list = { kind: 'list' } as const;
const int = (min: number, max: number) => ({ kind: 'int', min, max }) as const;
const bool = { kind: 'bool' } as const;

export const POLICY_FIELDS: readonly PolicyField[] = [
  { path: 'config.domains', label: 'SIP domains', type: list, part: 'config', hint: 'one per line' },
  {
    path: 'config.logLevel',
    label: 'Log level',
    type: { kind: 'enum', options: ['trace', 'debug', 'info', 'warn', 'error'] },
    part: 'config',
  },
  {
    path: 'config.registrar.minExpiresSec',
    label: 'Minimum registration (s)',
    type: int(1, 86_400),
    part: 'config',
  },
  {
    path: 'config.registrar.maxExpiresSec',
    label: 'Maximum registration (s)',
    type: int(1, 604_800),
    part: 'config',
  },
  {
    path: 'config.auth.algorithms',
    label: 'Digest algorithms',
    type: list,
    part: 'config',
    hint: 'MD5, SHA-256 — in challenge order',
  },
  {
    path: 'policies.authenticate',
    label: 'Authenticate methods',
    type: list,
    part: 'policies',
    hint: 'INVITE, MESSAGE, SUBSCRIBE, NOTIFY, OPTIONS, REFER',
  },
  {
    path: 'policies.registerAllowFrom',
    label: 'REGISTER allowed from',
    type: list,
    part: 'policies',
    hint: 'CIDRs',
  },
  {
    path: 'policies.registerDenyFrom',
    label: 'REGISTER denied from',
    type: list,
    part: 'policies',
    hint: 'CIDRs',
  },
  { path: 'policies.dropUserAgents', label: 'Drop User-Agents', type: list, part: 'policies' },
  {
    path: 'policies.bruteForce.maxFailures',
    label: 'Brute force: max failures',
    type: int(1, 10_000),
    part: 'policies',
  },
  {
    path: 'policies.bruteForce.windowSec',
    label: 'Brute force: window (s)',
    type: int(1, 86_400),
    part: 'policies',
  },
  {
    path: 'policies.bruteForce.blockSec',
    label: 'Brute force: block (s)',
    type: int(1, 604_800),
    part: 'policies',
  },
  {
    path: 'policies.callAdmission.maxConcurrentCallsPerUser',
    label: 'Max concurrent calls per user',
    type: int(1, 100_000),
    part: 'policies',
  },
  {
    path: 'policies.callAdmission.maxConcurrentCallsPerSite',
    label: 'Max concurrent calls per site',
    type: int(1, 1_000_000),
    part: 'policies',
  },
  { path: 'policies.topologyHiding.enabled', label: 'Topology hiding', type: bool, part: 'policies' },
  { path: 'policies.sessionTimer.enabled', label: 'Session timer', type: bool, part: 'policies' },
  {
    path: 'policies.maxMediaStreamsPerSession',
    label: 'Max media streams per call',
    type: int(1, 64),
    part: 'policies',
  },
];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The value at a dotted path, or `undefined`. */
export function getAt(root: unknown, path: string): unknown {
  let cur = root;
  for (const k of path.split('.')) {
    if (!isObject(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

/** A copy of `root` with `path` set (or removed when `value` is undefined); emptied objects go too. */
export function setAt(root: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const [head, ...rest] = path.split('.') as [string, ...string[]];
  const out = { ...root };
  if (rest.length === 0) {
    if (value === undefined) delete out[head];
    else out[head] = value;
    return out;
  }
  const child = setAt(isObject(out[head]) ? out[head] : {}, rest.join('.'), value);
  if (Object.keys(child).length === 0) delete out[head];
  else out[head] = child;
  return out;
}

export type Source = 'site' | 'organization' | 'agent';

/** The value in force at a site and its origin: the site's override, else the organization, else the agent's file. */
export function effectiveAt(org: Layer, site: Layer, path: string): { value: unknown; source: Source } {
  const own = getAt(site, path);
  if (own !== undefined) return { value: own, source: 'site' };
  const inherited = getAt(org, path);
  if (inherited !== undefined) return { value: inherited, source: 'organization' };
  return { value: undefined, source: 'agent' };
}

export const SOURCE_LABEL: Record<Source, string> = {
  site: 'site override',
  organization: 'organization policy',
  agent: 'agent file default',
};

/** How a value is shown in a table cell and in a text input. */
export function toText(value: unknown, type: FieldKind): string {
  if (value === undefined || value === null) return '';
  if (type.kind === 'list' && Array.isArray(value)) return value.join('\n');
  return String(value);
}

/**
 * The text of an input as the value sent to the server: empty = not set here (inherit). A value
 * that does not parse is sent as typed, so the server's error names it beside the field.
 */
export function fromText(text: string, type: FieldKind): unknown {
  const t = text.trim();
  if (t === '') return undefined;
  switch (type.kind) {
    case 'list':
      return t
        .split(/[\n,]+/)
        .map((s) => s.trim())
        .filter((s) => s !== '');
    case 'int':
      return /^-?\d+$/.test(t) ? Number(t) : t;
    case 'bool':
      return t === 'true' ? true : t === 'false' ? false : t;
    case 'enum':
      return t;
  }
}

/** Writes each field's text into a copy of `layer`; fields the editor does not show are kept. */
export function layerFromTexts(layer: Layer, texts: Readonly<Record<string, string>>): Layer {
  let out: Record<string, unknown> = { config: layer.config, policies: layer.policies };
  for (const f of POLICY_FIELDS) {
    const text = texts[f.path];
    if (text === undefined) continue;
    out = setAt(out, f.path, fromText(text, f.type));
  }
  return {
    config: (out['config'] as Record<string, unknown> | undefined) ?? {},
    policies: (out['policies'] as Record<string, unknown> | undefined) ?? {},
  };
}

/** Each field's text as stored in `layer`. */
export function textsOf(layer: Layer): Record<string, string> {
  return Object.fromEntries(POLICY_FIELDS.map((f) => [f.path, toText(getAt(layer, f.path), f.type)]));
}
