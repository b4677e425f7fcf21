import type { SipMessage } from './message.js';

/**
 * Wire bytes of a message. An unedited parsed message returns its exact input bytes
 * (`msg.wire`); otherwise the start line, every header field's raw text (untouched fields
 * byte for byte) and the body are joined. Edits keep Content-Length in step (edit.ts).
 */
export function serializeMessage(msg: SipMessage): Buffer {
  if (msg.wire !== undefined) return msg.wire;
  let head = `${msg.startLine}\r\n`;
  for (const h of msg.headers) head += h.raw;
  head += '\r\n';
  const headLength = head.length; // latin1: one byte per UTF-16 code unit, = Buffer.byteLength(head, 'latin1')
  const out = Buffer.allocUnsafe(headLength + msg.body.length);
  out.write(head, 0, 'latin1');
  out.set(msg.body, headLength);
  return out;
}
