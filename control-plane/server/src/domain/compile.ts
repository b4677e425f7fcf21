import {
  type DesiredState,
  DesiredStateSchema,
  type FieldIssue,
  type ManagedConfig,
  type PoliciesPatch,
  type SipUser,
} from '@sipwall/shared';
import type { ConfigLayer, SipUserRow } from '../db/queries/fleet-config.js';

/**
 * Pure: compiles the database's view of one site into the content of a desired state, and
 * compares and diffs such contents. No I/O; `publish.ts` stores and sends what this decides.
 */

/** What a desired state carries besides its version and issue time. */
export interface DesiredContent {
  config: ManagedConfig;
  users: SipUser[];
  policies: PoliciesPatch;
}

/** Everything a site's desired state is compiled from. */
export interface SiteSources {
  organization: ConfigLayer;
  site: ConfigLayer;
  users: readonly Pick<
    SipUserRow,
    'username' | 'domain' | 'enabled' | 'ha1Md5' | 'ha1Sha256' | 'algorithms'
  >[];
}

export type CompileResult = { ok: true; content: DesiredContent } | { ok: false; issues: FieldIssue[] };

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Overlays `over` on `base`: objects merge field by field (so a site can override one registrar
 * expiry and inherit the other), lists and scalars are replaced whole, `null` replaces too
 * (`outboundProxy: null` = explicitly none). Absent keeps the base's value.
 */
export function overlay<T extends Record<string, unknown>>(base: T, over: T): T {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = out[k];
    out[k] = isPlainObject(v) && isPlainObject(b) ? overlay(b, v) : v;
  }
  return out as T;
}

/** One control-plane user as the agent gets it: HA1s for both algorithms, offered algorithms. */
function toWireUser(u: SiteSources['users'][number]): SipUser {
  return {
    username: u.username,
    domain: u.domain,
    ha1: { md5: u.ha1Md5, sha256: u.ha1Sha256 },
    allowFrom: [],
    maxBindings: 10,
    ...(u.algorithms ? { algorithms: u.algorithms } : {}),
  };
}

/**
 * Compiles a site: organization config/policies overlaid by the site's, plus the site's enabled
 * users sorted by `domain`, `username`. The result is validated with the shared
 * `DesiredStateSchema`; issues name the field and the bad value.
 */
export function compileSite(src: SiteSources): CompileResult {
  const users = src.users
    .filter((u) => u.enabled)
    .map(toWireUser)
    .sort((a, b) => a.domain.localeCompare(b.domain) || a.username.localeCompare(b.username));
  const candidate = {
    version: 1,
    issuedAt: new Date(0).toISOString(),
    config: overlay(src.organization.config, src.site.config),
    policies: overlay(src.organization.policies, src.site.policies),
    users,
  };
  const issues = validateContent(candidate);
  if (issues.length > 0) return { ok: false, issues };
  const parsed = DesiredStateSchema.parse(candidate);
  return { ok: true, content: { config: parsed.config, users: parsed.users, policies: parsed.policies } };
}

/**
 * Checks a would-be desired state: the shared schema, plus the cross-field rules the schema
 * cannot see once two levels are merged. Each issue says the path and the value found there.
 */
export function validateContent(candidate: Omit<DesiredState, 'revertAfterSec'>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const r = DesiredStateSchema.safeParse(candidate);
  if (!r.success) {
    for (const i of r.error.issues) {
      const path = i.path.map(String).join('.') || '(root)';
      issues.push({ path, message: `${i.message} (got ${describe(valueAt(candidate, i.path))})` });
    }
  }
  const reg = candidate.config.registrar;
  if (
    reg?.minExpiresSec !== undefined &&
    reg.maxExpiresSec !== undefined &&
    reg.minExpiresSec > reg.maxExpiresSec
  )
    issues.push({
      path: 'config.registrar.minExpiresSec',
      message: `must not exceed maxExpiresSec ${reg.maxExpiresSec} (got ${reg.minExpiresSec})`,
    });
  const media = candidate.config.media;
  if (media?.portMin !== undefined && media.portMax !== undefined && media.portMin > media.portMax)
    issues.push({
      path: 'config.media.portMin',
      message: `must not exceed portMax ${media.portMax} (got ${media.portMin})`,
    });
  issues.push(...foreignDomainIssues(candidate.config.domains, candidate.users));
  const st = candidate.policies.sessionTimer;
  if (
    st?.minSec !== undefined &&
    st.defaultSessionExpiresSec !== undefined &&
    st.defaultSessionExpiresSec < st.minSec
  )
    issues.push({
      path: 'policies.sessionTimer.defaultSessionExpiresSec',
      message: `must not be below minSec ${st.minSec} (got ${st.defaultSessionExpiresSec})`,
    });
  return issues;
}

/**
 * Users whose domain the site does not serve (pure): when the managed config names the site's
 * domains, a user of any other domain could never register there (the agent answers REGISTERs for
 * its own domains only, and challenges with realm = domain). No issue when the domains are left to
 * the agent's own file (the control plane does not know them then).
 */
export function foreignDomainIssues(
  domains: readonly string[] | undefined,
  users: readonly Pick<SipUser, 'username' | 'domain'>[],
): FieldIssue[] {
  if (domains === undefined) return [];
  const served = new Set(domains.map((d) => d.toLowerCase()));
  return users
    .filter((u) => !served.has(u.domain.toLowerCase()))
    .map((u) => ({
      path: `users.${u.username}@${u.domain}.domain`,
      message: `${JSON.stringify(u.domain)} is not one of the site's domains (${domains.join(', ')})`,
    }));
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

/** A short printable form of a bad value (HA1 paths never reach here: users come from the database). */
function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** The content of a stored desired state (drops `version` and `issuedAt`). */
export function contentOf(state: DesiredState): DesiredContent {
  return { config: state.config, users: state.users, policies: state.policies };
}

/** JSON with object keys sorted, so equal content gives equal text whatever the key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isPlainObject(v))
    return `{${Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

export function sameContent(a: DesiredContent, b: DesiredContent): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** True when nothing is managed: no config, no policies, no users (nothing worth a version). */
export function isEmptyContent(c: DesiredContent): boolean {
  return Object.keys(c.config).length === 0 && Object.keys(c.policies).length === 0 && c.users.length === 0;
}

/** One changed leaf between two versions. HA1 values are never shown, only that they changed. */
export interface ContentChange {
  /** Dotted path; users are keyed by `username@domain`, e.g. `users.alice@example.com.ha1.md5`. */
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

/** Shown in place of an HA1. */
export const HIDDEN = '(hidden)';

function redactUser(u: SipUser): unknown {
  return { ...u, ha1: Object.fromEntries(Object.keys(u.ha1).map((k) => [k, HIDDEN])) };
}

/** A desired state as the API shows it: every HA1 replaced by `HIDDEN`. */
export function redactState(state: DesiredState) {
  return { ...state, users: state.users.map(redactUser) };
}

/** The structured difference `before` → `after`: changed leaves, lists compared whole. */
export function diffContent(before: DesiredContent, after: DesiredContent): ContentChange[] {
  const out: ContentChange[] = [];
  diffValue(before.config, after.config, 'config', out);
  diffValue(before.policies, after.policies, 'policies', out);
  const key = (u: SipUser) => `${u.username}@${u.domain}`;
  const b = new Map(before.users.map((u) => [key(u), u]));
  const a = new Map(after.users.map((u) => [key(u), u]));
  for (const k of [...new Set([...b.keys(), ...a.keys()])].sort()) {
    const bu = b.get(k);
    const au = a.get(k);
    const path = `users.${k}`;
    if (!bu) out.push({ path, kind: 'added', after: redactUser(au!) });
    else if (!au) out.push({ path, kind: 'removed', before: redactUser(bu) });
    else {
      const { ha1: bh, ...brest } = bu;
      const { ha1: ah, ...arest } = au;
      diffValue(brest, arest, path, out);
      for (const alg of ['md5', 'sha256'] as const) {
        if (bh[alg] === ah[alg]) continue;
        const change: ContentChange = { path: `${path}.ha1.${alg}`, kind: 'changed' };
        if (bh[alg] !== undefined) change.before = HIDDEN;
        if (ah[alg] !== undefined) change.after = HIDDEN;
        if (bh[alg] === undefined) change.kind = 'added';
        if (ah[alg] === undefined) change.kind = 'removed';
        out.push(change);
      }
    }
  }
  return out;
}

function diffValue(before: unknown, after: unknown, path: string, out: ContentChange[]): void {
  if (isPlainObject(before) && isPlainObject(after)) {
    for (const k of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
      const bv = before[k];
      const av = after[k];
      const p = `${path}.${k}`;
      if (bv === undefined && av !== undefined) out.push({ path: p, kind: 'added', after: av });
      else if (av === undefined && bv !== undefined) out.push({ path: p, kind: 'removed', before: bv });
      else diffValue(bv, av, p, out);
    }
    return;
  }
  if (canonicalJson(before) !== canonicalJson(after)) out.push({ path, kind: 'changed', before, after });
}
