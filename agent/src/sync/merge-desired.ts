import {
  type AgentConfig,
  AgentConfigSchema,
  type DesiredState,
  type FieldIssue,
  err,
  type ManagedConfig,
  ok,
  type Policies,
  type PoliciesPatch,
  type Result,
  type SipUser,
  toFieldIssues,
} from '@sipwall/shared';

/** A user's identity across file and desired state: the user part as is, the domain case-folded. */
const userKey = (u: SipUser) => `${u.username}@${u.domain.toLowerCase()}`;

/**
 * The file's users plus the control plane's: a desired user with the same `username@domain`
 * replaces the file's; a file user is never removed by a push (pure).
 */
export function mergeUsers(fileUsers: readonly SipUser[], desiredUsers: readonly SipUser[]): SipUser[] {
  const byKey = new Map<string, SipUser>();
  for (const u of fileUsers) byKey.set(userKey(u), u);
  for (const u of desiredUsers) byKey.set(userKey(u), u);
  return [...byKey.values()];
}

/**
 * A policies patch laid over the file's policies (pure): a present field replaces, nested objects
 * field by field, lists whole; an absent field keeps the file's value (absent never deletes).
 */
export function mergePolicies(file: Policies, patch: PoliciesPatch): Policies {
  const merged: Record<string, unknown> = { ...file };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const current = merged[key];
    merged[key] =
      isPlainObject(value) && isPlainObject(current) ? { ...current, ...definedOf(value) } : value;
  }
  return merged as Policies;
}

/** The file's `sip`, `log` and `media` with the managed fields that are present laid over them (pure). */
function mergeManaged(file: AgentConfig, managed: ManagedConfig) {
  const proxy = { ...file.sip.proxy };
  if (managed.outboundProxy === null) delete proxy.outboundProxy;
  else if (managed.outboundProxy !== undefined) proxy.outboundProxy = managed.outboundProxy;
  return {
    log: managed.logLevel === undefined ? file.log : { ...file.log, level: managed.logLevel },
    sip: {
      ...file.sip,
      domains: managed.domains ?? file.sip.domains,
      registrar: { ...file.sip.registrar, ...definedOf(managed.registrar ?? {}) },
      auth: managed.auth ?? file.sip.auth,
      proxy,
    },
    media: { ...file.media, ...definedOf(managed.media ?? {}) },
  };
}

/**
 * Lays a desired state over the file config (pure), following the contract in
 * `@sipwall/shared` `desired.ts`: managed config fields that are present replace the file's
 * (`outboundProxy: null` clears it); users are the file's plus the control plane's (the latter
 * win on the same `username@domain`); policies are a patch. The result is re-validated with
 * `AgentConfigSchema`, so a combination invalid as a whole (e.g. minExpires above the file's
 * maxExpires) is refused with the field and the reason.
 */
export function mergeDesired(
  fileConfig: AgentConfig,
  desired: DesiredState,
): Result<AgentConfig, FieldIssue[]> {
  const merged = {
    ...fileConfig,
    ...mergeManaged(fileConfig, desired.config),
    users: mergeUsers(fileConfig.users, desired.users),
    policies: mergePolicies(fileConfig.policies, desired.policies),
  };
  const parsed = AgentConfigSchema.safeParse(merged);
  if (!parsed.success) return err(toFieldIssues(parsed.error));
  return ok(parsed.data);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The fields of `o` that are present (an explicit `undefined` must not erase a file value). */
function definedOf<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
