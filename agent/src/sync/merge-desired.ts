import {
  type AgentConfig,
  AgentConfigSchema,
  type DesiredState,
  type FieldIssue,
  err,
  ok,
  type Result,
  toFieldIssues,
} from '@sipwall/shared';

/**
 * Lays a desired state over the file config (pure): managed fields win where present, users and
 * policies are replaced whole, and the result is re-validated with `AgentConfigSchema` so a
 * combination that is invalid as a whole (e.g. minExpires above the file's maxExpires) is refused.
 */
export function mergeDesired(
  fileConfig: AgentConfig,
  desired: DesiredState,
): Result<AgentConfig, FieldIssue[]> {
  const managed = desired.config;
  const merged = {
    ...fileConfig,
    log: managed.logLevel === undefined ? fileConfig.log : { ...fileConfig.log, level: managed.logLevel },
    sip: {
      ...fileConfig.sip,
      domains: managed.domains ?? fileConfig.sip.domains,
      registrar: { ...fileConfig.sip.registrar, ...managed.registrar },
    },
    users: desired.users,
    policies: desired.policies,
  };
  const parsed = AgentConfigSchema.safeParse(merged);
  if (!parsed.success) return err(toFieldIssues(parsed.error));
  return ok(parsed.data);
}
