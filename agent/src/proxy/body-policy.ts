import { getHeader } from '../sip/accessors.js';
import type { SipMessage } from '../sip/message.js';
import { boundaryOf, mediaType, parseMultipart } from '../sip/multipart.js';

/** `policies.allowedBodyTypes`, `deniedBodyTypes` and `maxMediaStreamsPerSession`, compiled. */
export interface BodyPolicy {
  /** Lower-case media types (`type/subtype`); empty = every type. */
  readonly allowedTypes: ReadonlySet<string>;
  /** Lower-case media types refused whatever `allowedTypes` says. */
  readonly deniedTypes?: ReadonlySet<string>;
  readonly maxMediaStreams: number;
}

export type BodyVerdict =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly status: 400 | 415 | 488;
      readonly reason: string;
      readonly headers: ReadonlyArray<readonly [string, string]>;
    };

const OK: BodyVerdict = { ok: true };
/** Multipart inside multipart, at most this deep (RFC 5621 bodies nest one or two levels). */
const MAX_DEPTH = 3;

/**
 * The body policy of the proxy (pure): a body of a type not allowed (or denied) is refused with
 * `415 Unsupported Media Type` and `Accept` listing the allowed types (RFC 3261 §21.4.13); a
 * multipart body (RFC 5621) is judged part by part, so a denied type cannot hide inside one, and
 * one that does not parse is a `400`; SDP with more media streams (`m=` lines, over all SDP parts)
 * than allowed gets `488 Not Acceptable Here`. A message without a body always passes.
 */
export function checkBody(msg: SipMessage, policy: BodyPolicy): BodyVerdict {
  if (msg.body.length === 0) return OK;
  const walked = walk(getHeader(msg, 'content-type'), msg.body, policy, 0);
  if (!walked.ok) return walked;
  if (walked.streams > policy.maxMediaStreams) {
    return { ok: false, status: 488, reason: 'Not Acceptable Here', headers: [] };
  }
  return OK;
}

type Walked = { readonly ok: true; readonly streams: number } | Exclude<BodyVerdict, { ok: true }>;

function walk(contentType: string | undefined, body: Buffer, policy: BodyPolicy, depth: number): Walked {
  const type = mediaType(contentType);
  if (policy.deniedTypes?.has(type) === true) return refused(policy);
  if (type.startsWith('multipart/')) {
    const boundary = boundaryOf(contentType ?? '');
    const parsed = boundary === undefined ? undefined : parseMultipart(body, boundary);
    if (depth >= MAX_DEPTH || parsed === undefined || !parsed.ok) {
      return { ok: false, status: 400, reason: 'Bad Multipart Body', headers: [] };
    }
    let streams = 0;
    for (const part of parsed.value.parts) {
      const w = walk(part.contentTypeValue ?? 'text/plain', part.body, policy, depth + 1);
      if (!w.ok) return w;
      streams += w.streams;
    }
    return { ok: true, streams };
  }
  if (policy.allowedTypes.size > 0 && !policy.allowedTypes.has(type)) return refused(policy);
  return { ok: true, streams: type === 'application/sdp' ? countMediaStreams(body) : 0 };
}

function refused(policy: BodyPolicy): Walked {
  const allowed = [...policy.allowedTypes].filter((t) => policy.deniedTypes?.has(t) !== true);
  return {
    ok: false,
    status: 415,
    reason: 'Unsupported Media Type',
    // §21.4.13: the 415 says what is acceptable; with no allow list, SDP (what calls need).
    headers: [['Accept', allowed.length === 0 ? 'application/sdp' : allowed.join(', ')]],
  };
}

/** `m=` lines of an SDP body (RFC 8866 §5.14: each starts a media description). */
function countMediaStreams(body: Buffer): number {
  const text = body.toString('latin1');
  let n = text.startsWith('m=') ? 1 : 0;
  for (let i = text.indexOf('\nm='); i >= 0; i = text.indexOf('\nm=', i + 3)) n++;
  return n;
}
