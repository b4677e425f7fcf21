import {
  type EnrollRequest,
  EnrollErrorSchema,
  type EnrollResponse,
  EnrollResponseSchema,
  decode,
  encode,
  EnrollRequestSchema,
} from '@sipwall/shared';
import { isIP } from 'node:net';
import { ControlLinkError } from './control-link-error.js';

export interface EnrollOptions {
  /** Base URL of the control plane (`controlPlane.url`). */
  baseUrl: string;
  request: EnrollRequest;
  fetch: typeof globalThis.fetch;
  signal?: AbortSignal;
  /** Allow `http://` to a control plane that is not on loopback (`controlPlane.allowInsecureHttp`). */
  allowInsecureHttp?: boolean | undefined;
}

/** `localhost` (RFC 6761 §6.3), 127.0.0.0/8 and ::1: traffic that never leaves the host. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h.startsWith('::ffff:7f');
  return false;
}

/**
 * Refuses plain HTTP off loopback unless allowed: enrollment sends the one-time token and receives
 * the agent's MQTT password, and both would be readable (and the answer forgeable) on the path.
 */
function assertTransportAllowed(url: URL, allowInsecureHttp: boolean): void {
  if (url.protocol !== 'http:' || allowInsecureHttp || isLoopbackHost(url.hostname)) return;
  throw new ControlLinkError(
    'AGENT_ERR_ENROLL_INSECURE',
    `refusing to enroll with ${url.origin} over plain HTTP: the enrollment token and the MQTT password ` +
      'it returns would cross the network in clear. Use an https:// controlPlane.url, or set ' +
      'controlPlane.allowInsecureHttp: true in the agent config if this network is trusted',
  );
}

/**
 * Trades a one-time token for MQTT credentials: `POST {baseUrl}/api/enroll`.
 * @throws {ControlLinkError} `AGENT_ERR_ENROLL_INSECURE` (nothing sent) for `http://` off loopback
 *   without `allowInsecureHttp`; `AGENT_ERR_ENROLL_REFUSED` (with `enrollCode`) when the control plane
 *   refuses the token; `AGENT_ERR_ENROLL_UNREACHABLE` for network failures and unexpected answers.
 */
export async function enroll(options: EnrollOptions): Promise<EnrollResponse> {
  const url = new URL('api/enroll', options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  assertTransportAllowed(url, options.allowInsecureHttp ?? false);
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
