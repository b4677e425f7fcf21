import type { SipRequest } from '../sip/message.js';
import { detachString } from '../util/detach-string.js';

/** What a transaction's log lines name: its request's Call-ID and top Via branch. */
export interface LogIds {
  readonly callId: string;
  readonly branch: string | undefined;
}

/** The log names of `request` (cut from its text: for a log line made now). */
export function logIdsOf(request: SipRequest): LogIds {
  return { callId: request.callId, branch: request.via[0]?.branch };
}

/**
 * The log names of `request`, detached from its text: what a finished client transaction keeps
 * instead of the request while it waits out Timer K or M (it sends nothing more).
 */
export function keptLogIds(request: SipRequest): LogIds {
  const { callId, branch } = logIdsOf(request);
  return { callId: detachString(callId), branch: branch === undefined ? undefined : detachString(branch) };
}
