import type { SipParseError } from './errors.js';
import type { SipRequest, SipResponse } from './message.js';

export interface CreateResponseOptions {
  /** To-tag to add when the request's To has none (ignored for 100, RFC 3261 §8.2.6.2). */
  readonly toTag?: string;
  /** Extra header fields appended after the copied ones, as [name, value]. */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  readonly body?: { readonly bytes: Uint8Array; readonly contentType: string };
}

/** RFC 3261 §8.2.6: response copying Via (all, in order), From, To (+tag), Call-ID, CSeq. */
export function createResponse(
  _req: SipRequest,
  _status: number,
  _reason?: string,
  _opts?: CreateResponseOptions,
): SipResponse {
  throw new Error('not implemented');
}

/** Response (400/413/416/505) to an unparsable request; `undefined` when `!error.canRespond`. */
export function createErrorResponse(
  _error: SipParseError,
  _opts?: { readonly toTag?: string },
): SipResponse | undefined {
  throw new Error('not implemented');
}
