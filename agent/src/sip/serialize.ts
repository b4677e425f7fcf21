import type { SipMessage } from './message.js';

/** Wire bytes of a message: the exact input bytes when unedited, else raw fields re-joined. */
export function serializeMessage(_msg: SipMessage): Buffer {
  throw new Error('not implemented');
}
