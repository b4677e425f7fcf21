import type { Result } from '@sipwall/shared';
import type { SipParseError } from './errors.js';
import type { SipMessage } from './message.js';
import type { ParseOptions } from './options.js';

export type { ParseOptions } from './options.js';

/**
 * Parses one complete SIP message (one datagram, or one stream frame cut by Content-Length).
 * Never throws and never logs.
 */
export function parseMessage(_bytes: Buffer, _opts?: ParseOptions): Result<SipMessage, SipParseError> {
  throw new Error('not implemented');
}
