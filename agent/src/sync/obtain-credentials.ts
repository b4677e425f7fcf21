import type { Logger } from 'pino';
import type { Clock } from '../util/clock.js';
import { type BackoffOptions, backoffDelay } from './backoff.js';
import { ControlLinkError } from './control-link-error.js';
import { type Credentials, readCredentials, writeCredentials } from './credentials-store.js';
import { enroll } from './enroll.js';
import { sleep } from './sleep.js';

export interface ObtainCredentialsDeps {
  stateDir: string;
  controlPlaneUrl: string;
  /** `controlPlane.allowInsecureHttp`: enroll over `http://` off loopback. */
  allowInsecureHttp?: boolean | undefined;
  enrollmentToken: string | undefined;
  agentVersion: string;
  hostname: string;
  fetch: typeof globalThis.fetch;
  clock: Clock;
  random: () => number;
  logger: Logger;
  backoff: BackoffOptions;
  signal: AbortSignal;
}

/**
 * Returns stored credentials, or enrolls once with the token and stores the result (0600).
 * Network failures are retried with capped exponential backoff until `signal` aborts (then null);
 * a refused token or a missing token is fatal.
 * @throws {ControlLinkError} `AGENT_ERR_ENROLL_REFUSED` | `AGENT_ERR_ENROLL_INSECURE` | `AGENT_ERR_NOT_ENROLLED` |
 *   `AGENT_ERR_CREDENTIALS_INVALID`
 */
export async function obtainCredentials(deps: ObtainCredentialsDeps): Promise<Credentials | null> {
  const stored = await readCredentials(deps.stateDir);
  if (stored !== null) {
    deps.logger.info({ agentId: stored.agentId }, 'using stored credentials');
    return stored;
  }
  if (deps.enrollmentToken === undefined) {
    throw new ControlLinkError(
      'AGENT_ERR_NOT_ENROLLED',
      `no credentials in ${deps.stateDir} and no controlPlane.enrollmentToken in the config`,
    );
  }
  for (let attempt = 0; !deps.signal.aborted; attempt++) {
    try {
      const credentials = await enroll({
        baseUrl: deps.controlPlaneUrl,
        request: { token: deps.enrollmentToken, agentVersion: deps.agentVersion, hostname: deps.hostname },
        fetch: deps.fetch,
        signal: deps.signal,
        allowInsecureHttp: deps.allowInsecureHttp,
      });
      await writeCredentials(deps.stateDir, credentials);
      deps.logger.info({ agentId: credentials.agentId }, 'enrolled with the control plane');
      return credentials;
    } catch (e) {
      if (!(e instanceof ControlLinkError) || !e.retryable) throw e;
      if (deps.signal.aborted) break;
      const delayMs = backoffDelay(attempt, deps.backoff, deps.random());
      deps.logger.warn(
        { err: e.message, attempt: attempt + 1, retryInMs: delayMs },
        'enrollment failed; retrying',
      );
      await sleep(deps.clock, delayMs, deps.signal);
    }
  }
  return null;
}
