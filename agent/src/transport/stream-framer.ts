/**
 * Content-Length framing for SIP over TCP/TLS (RFC 3261 §18.3), plus the RFC 5626 §4.4.1
 * CRLF keep-alive. Pure: bytes in, events out; no sockets, no timers.
 *
 * - Between messages, a double CRLF ("ping") is answered with one `pong` event (the caller
 *   writes a single CRLF); a lone CRLF ("pong" or stray keep-alive) is skipped.
 * - The header section must fit in `maxHeaderBytes`, the whole message in `maxMessageBytes`.
 * - On a stream, Content-Length is mandatory (RFC 3261 §18.3, §20.14).
 * After an `error` event the framer is poisoned: the connection must be closed.
 */

export type FramingErrorReason =
  | 'header-too-large'
  | 'message-too-large'
  | 'missing-content-length'
  | 'invalid-content-length';

export type FramerEvent =
  | { readonly kind: 'message'; readonly bytes: Buffer }
  | { readonly kind: 'pong' }
  | { readonly kind: 'error'; readonly reason: FramingErrorReason; readonly headerBytes?: Buffer };

export interface FramerLimits {
  readonly maxHeaderBytes: number;
  readonly maxMessageBytes: number;
}

const CR = 0x0d;
const LF = 0x0a;
const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');

export class StreamFramer {
  private buffer: Buffer = Buffer.alloc(0);
  /** Where the search for the header end resumes (avoids rescanning a slow header). */
  private scanFrom = 0;
  private failed = false;

  constructor(private readonly limits: FramerLimits) {}

  /** Bytes held while waiting for the rest of a message. */
  get bufferedBytes(): number {
    return this.buffer.length;
  }

  /**
   * True while the buffer holds part of a message (what the listener's per-message deadline
   * times). A held "\r", "\r\n" or "\r\n\r" is a keep-alive still being read, not a message.
   */
  get midMessage(): boolean {
    const b = this.buffer;
    if (b.length === 0 || this.failed) return false;
    if (b.length > 3) return true;
    return !(b[0] === CR && (b.length < 2 || b[1] === LF) && (b.length < 3 || b[2] === CR));
  }

  get isFailed(): boolean {
    return this.failed;
  }

  /** Feeds one chunk; returns every event it completes, in order. */
  push(chunk: Uint8Array): FramerEvent[] {
    if (this.failed) return [];
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk]);
    const events: FramerEvent[] = [];
    for (;;) {
      const event = this.next();
      if (event === undefined) break;
      events.push(event);
      if (event.kind === 'error') {
        this.failed = true;
        this.buffer = Buffer.alloc(0);
        break;
      }
    }
    return events;
  }

  private next(): FramerEvent | undefined {
    for (;;) {
      const keepAlive = this.skipKeepAlive();
      if (keepAlive === 'ping') return { kind: 'pong' };
      if (keepAlive === 'none') break;
    }
    if (this.buffer.length === 0) return undefined;

    const headerEnd = this.buffer.indexOf(HEADER_END, Math.max(0, this.scanFrom - 3));
    if (headerEnd < 0) {
      this.scanFrom = this.buffer.length;
      return this.buffer.length > this.limits.maxHeaderBytes
        ? { kind: 'error', reason: 'header-too-large' }
        : undefined;
    }
    const headerLength = headerEnd + HEADER_END.length;
    const headerBytes = this.buffer.subarray(0, headerLength);
    if (headerLength > this.limits.maxHeaderBytes) return { kind: 'error', reason: 'header-too-large' };

    const contentLength = readContentLength(headerBytes.toString('latin1'));
    if (typeof contentLength === 'string') {
      return { kind: 'error', reason: contentLength, headerBytes: Buffer.from(headerBytes) };
    }
    const total = headerLength + contentLength;
    if (total > this.limits.maxMessageBytes) {
      return { kind: 'error', reason: 'message-too-large', headerBytes: Buffer.from(headerBytes) };
    }
    if (this.buffer.length < total) return undefined;

    const message = Buffer.from(this.buffer.subarray(0, total));
    this.buffer = this.buffer.subarray(total);
    this.scanFrom = 0;
    return { kind: 'message', bytes: message };
  }

  /**
   * RFC 5626 §4.4.1: CRLFCRLF between messages is a ping (answer CRLF); a single CRLF is a
   * pong/keep-alive and is ignored. Returns 'ping' after consuming one, 'skipped' after
   * consuming a lone CRLF (the caller loops), 'none' when no keep-alive is at the front or it
   * is still incomplete.
   */
  private skipKeepAlive(): 'ping' | 'skipped' | 'none' {
    const b = this.buffer;
    if (b.length < 2 || b[0] !== CR || b[1] !== LF) return 'none';
    if (b.length >= 4 && b[2] === CR && b[3] === LF) {
      this.buffer = b.subarray(4);
      return 'ping';
    }
    // "\r\n" or "\r\n\r" may still become a ping: wait for more bytes.
    if (b.length === 2 || (b.length === 3 && b[2] === CR)) return 'none';
    this.buffer = b.subarray(2);
    return 'skipped';
  }
}

/**
 * Finds Content-Length (or compact `l`, RFC 3261 §7.3.3) in a header section. Multiple
 * differing values or a non-numeric value are invalid; absence is an error on a stream.
 */
export function readContentLength(
  header: string,
): number | 'missing-content-length' | 'invalid-content-length' {
  let found: number | undefined;
  const lines = header.split('\r\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const colon = line.indexOf(':');
    if (colon <= 0 || line[0] === ' ' || line[0] === '\t') continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (name !== 'content-length' && name !== 'l') continue;
    const value = line.slice(colon + 1).trim();
    if (!/^\d{1,9}$/.test(value)) return 'invalid-content-length';
    const n = Number(value);
    if (found !== undefined && found !== n) return 'invalid-content-length';
    found = n;
  }
  return found ?? 'missing-content-length';
}
