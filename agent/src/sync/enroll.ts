import {
  type EnrollRequest,
  EnrollErrorSchema,
  type EnrollResponse,
  EnrollResponseSchema,
  decode,
  encode,
  EnrollRequestSchema,
} from '@sipwall/shared';
import { ControlLinkError } from './control-link-error.js';

export interface EnrollOptions {
  /** Base URL of the control plane (`controlPlane.url`). */
  baseUrl: string;
  request: EnrollRequest;
  fetch: typeof globalThis.fetch;
  signal?: AbortSignal;
}

/**
 * Trades a one-time token for MQTT credentials: `POST {baseUrl}/api/enroll`.
 * @throws {ControlLinkError} `AGENT_ERR_ENROLL_REFUSED` (with `enrollCode`) when the control plane
 *   refuses the token; `AGENT_ERR_ENROLL_UNREACHABLE` for network failures and unexpected answers.
 */
export async function enroll(options: EnrollOptions): Promise<EnrollResponse> {
  const url = new URL('api/enroll', options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  let res: Response;
  let text: string;
  try {
    res = await options.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: encode(EnrollRequestSchema, options.request),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    text = await res.text();
  } catch (e) {
    throw new ControlLinkError(
      'AGENT_ERR_ENROLL_UNREACHABLE',
      `enrollment at ${url.href} failed: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  if (res.ok) {
    const decoded = decode(EnrollResponseSchema, text);
    if (decoded.ok) return decoded.value;
    throw new ControlLinkError(
      'AGENT_ERR_ENROLL_UNREACHABLE',
      `enrollment at ${url.href}: unexpected response body`,
    );
  }
  const refusal = decode(EnrollErrorSchema, text);
  if (refusal.ok && res.status < 500) {
    throw new ControlLinkError(
      'AGENT_ERR_ENROLL_REFUSED',
      `enrollment refused by ${url.origin}: ${refusal.value.error} (${refusal.value.message})`,
      { enrollCode: refusal.value.error },
    );
  }
  throw new ControlLinkError('AGENT_ERR_ENROLL_UNREACHABLE', `enrollment at ${url.href}: HTTP ${res.status}`);
}
