import type { EnrollError } from '@sipwall/shared';
import { AgentError } from '../errors.js';

export type ControlLinkErrorCode =
  /** The control plane refused the enrollment token (fatal). */
  | 'AGENT_ERR_ENROLL_REFUSED'
  /** Plain `http://` to a control plane off loopback without `controlPlane.allowInsecureHttp` (fatal). */
  | 'AGENT_ERR_ENROLL_INSECURE'
  /** The enroll endpoint could not be reached or answered garbage (retried). */
  | 'AGENT_ERR_ENROLL_UNREACHABLE'
  /** No stored credentials and no enrollment token in the config (fatal). */
  | 'AGENT_ERR_NOT_ENROLLED'
  /** `credentials.json` exists but cannot be read or is invalid (fatal). */
  | 'AGENT_ERR_CREDENTIALS_INVALID';

/** A failure of the link to the control plane; `enrollCode` names the refusal the server gave. */
export class ControlLinkError extends AgentError {
  declare readonly code: ControlLinkErrorCode;
  readonly enrollCode: EnrollError['error'] | undefined;

  constructor(
    code: ControlLinkErrorCode,
    message: string,
    options: { enrollCode?: EnrollError['error']; cause?: unknown } = {},
  ) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.enrollCode = options.enrollCode;
  }

  /** Whether retrying later can help. */
  get retryable(): boolean {
    return this.code === 'AGENT_ERR_ENROLL_UNREACHABLE';
  }
}
