import type { FieldIssue } from '@sipwall/shared';
import { AgentError } from '../errors.js';

/** Stable codes for configuration failures. */
export type ConfigErrorCode =
  | 'AGENT_ERR_CONFIG_READ'
  | 'AGENT_ERR_CONFIG_YAML'
  | 'AGENT_ERR_CONFIG_INVALID'
  | 'AGENT_ERR_CONFIG_OVERRIDE';

/** A config file that cannot be read, parsed or validated; `issues` names each bad field. */
export class ConfigError extends AgentError {
  declare readonly code: ConfigErrorCode;
  readonly issues: readonly FieldIssue[];

  constructor(code: ConfigErrorCode, message: string, issues: readonly FieldIssue[] = [], cause?: unknown) {
    super(code, message, cause === undefined ? undefined : { cause });
    this.issues = issues;
  }
}
