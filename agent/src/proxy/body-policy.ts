import { getHeader } from '../sip/accessors.js';
import type { SipMessage } from '../sip/message.js';

/** `policies.allowedBodyTypes` and `policies.maxMediaStreamsPerSession`, compiled. */
export interface BodyPolicy {
  /** Lower-case media types (`type/subtype`); empty = every type. */
  readonly allowedTypes: ReadonlySet<string>;
  readonly maxMediaStreams: number;
}

export type BodyVerdict =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly status: 415 | 488;
      readonly reason: string;
      readonly headers: ReadonlyArray<readonly [string, string]>;
    };

const OK: BodyVerdict = { ok: true };

/**
 * The body policy of the proxy (pure): a body whose media type is not allowed is refused with
 * `415 Unsupported Media Type` and `Accept` listing the allowed types (RFC 3261 §21.4.13); an SDP
 * with more media streams (`m=` lines) than allowed with `488 Not Acceptable Here`. A message
 * without a body always passes.
 */
export function checkBody(msg: SipMessage, policy: BodyPolicy): BodyVerdict {
  if (msg.body.length === 0) return OK;
  const type = (getHeader(msg, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (policy.allowedTypes.size > 0 && !policy.allowedTypes.has(type)) {
    return {
      ok: false,
      status: 415,
      reason: 'Unsupported Media Type',
      headers: [['Accept', [...policy.allowedTypes].join(', ')]],
    };
  }
  if (type === 'application/sdp' && countMediaStreams(msg.body) > policy.maxMediaStreams) {
    return { ok: false, status: 488, reason: 'Not Acceptable Here', headers: [] };
  }
  return OK;
}

/** `m=` lines of an SDP body (RFC 8866 §5.14: each starts a media description). */
function countMediaStreams(body: Buffer): number {
  const text = body.toString('latin1');
  let n = text.startsWith('m=') ? 1 : 0;
  for (let i = text.indexOf('\nm='); i >= 0; i = text.indexOf('\nm=', i + 3)) n++;
  return n;
}
