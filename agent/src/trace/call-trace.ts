import type { SipMessage } from '../sip/message.js';
import type { Clock } from '../util/clock.js';

/**
 * Per-call SIP trace for the dashboard's call ladder: the SIP messages of the most recent calls,
 * both legs, as they crossed the agent's sockets (received or sent), with direction, interface
 * and time.
 *
 * Bounded: at most `maxCalls` calls (the oldest call is forgotten when a new one starts), at most
 * `maxMessagesPerCall` messages per call (the oldest message of the call is dropped and counted),
 * at most `maxMessageBytes` characters of text per message (the rest cut and marked). A message is
 * kept as a copy of its first `maxMessageBytes` + 1 KiB bytes and turned into text when read, so
 * what is held is at most `maxCalls × maxMessagesPerCall × (maxMessageBytes + 1 KiB)` bytes —
 * with the defaults 64 × 32 × 5 KiB = 10 MiB — plus ~200 bytes of fields each.
 *
 * Only calls are traced: a Call-ID gets a slot when an INVITE request for it is seen; any other
 * message is kept only if its Call-ID already has one (REGISTER, OPTIONS, … cost one map lookup).
 *
 * Secrets: the `response` (and any non-Digest credentials) of `Authorization` and
 * `Proxy-Authorization` are replaced by `[redacted]` before the text is stored, so digest
 * responses are never held in clear.
 */

export type TraceDirection = 'in' | 'out';
export type TraceRole = 'inside' | 'outside';

export interface TraceLimits {
  readonly maxCalls: number;
  readonly maxMessagesPerCall: number;
  readonly maxMessageBytes: number;
}

export const DEFAULT_TRACE_LIMITS: TraceLimits = {
  maxCalls: 64,
  maxMessagesPerCall: 32,
  maxMessageBytes: 4096,
};

/** The most text the trace can hold with these limits (characters = bytes, latin1). */
export function traceTextBound(limits: TraceLimits): number {
  return limits.maxCalls * limits.maxMessagesPerCall * limits.maxMessageBytes;
}

/** One message as the trace keeps it. */
export interface TracedMessage {
  /** Milliseconds since the epoch (the agent's clock). */
  readonly at: number;
  /** `in`: received by the agent; `out`: sent by it. */
  readonly direction: TraceDirection;
  readonly interface: string;
  readonly role: TraceRole;
  readonly transport: string;
  /** The other end, `ip:port` (`[v6]:port`). */
  readonly peer: string;
  /** The Call-ID on the wire (differs between legs when topology hiding seals it). */
  readonly callId: string;
  readonly method: string | null;
  readonly status: number | null;
  readonly reason: string | null;
  /** CSeq method (for responses: what they answer). */
  readonly cseqMethod: string;
  /** The message text, secrets redacted, cut at `maxMessageBytes`. */
  readonly text: string;
  readonly truncated: boolean;
}

export interface CallTraceView {
  readonly callId: string;
  readonly firstAt: number;
  /** Oldest first. */
  readonly messages: readonly TracedMessage[];
  /** Messages of this call dropped because it reached `maxMessagesPerCall`. */
  readonly dropped: number;
}

export interface TraceSocket {
  readonly interfaceName: string;
  readonly protocol: string;
}

export interface TraceEndpoint {
  readonly address: string;
  readonly port: number;
}

/** What the transport layer calls for every message it receives (parsed) or sends. */
export interface SipTraceSink {
  record(
    direction: TraceDirection,
    message: SipMessage,
    bytes: Buffer,
    socket: TraceSocket,
    peer: TraceEndpoint,
  ): void;
}

interface Slot {
  readonly callId: string;
  readonly firstAt: number;
  messages: Kept[];
  dropped: number;
}

/**
 * A message as `record` keeps it: its fields and a copy of its bytes. The text (redacted, cut) is
 * made only when the trace is read, so the SIP path pays one copy per message, not two string
 * conversions, a scan for credentials and a concatenation.
 */
interface Kept {
  readonly at: number;
  readonly direction: TraceDirection;
  readonly socket: TraceSocket;
  readonly address: string;
  readonly port: number;
  readonly callId: string;
  readonly method: string | null;
  readonly status: number | null;
  readonly reason: string | null;
  readonly cseqMethod: string;
  /** The message's first `maxMessageBytes + REDACTION_SLACK` bytes. */
  readonly bytes: Buffer;
  /** The message's full size on the wire. */
  readonly length: number;
}

const REDACTED = '[redacted]';
/** Bytes kept beyond `maxMessageBytes`: what redacting the credentials of a message can take out. */
const REDACTION_SLACK = 1024;
const CREDENTIAL_HEADER = /^(authorization|proxy-authorization)([ \t]*:[ \t]*)(.*)$/i;
/** Any line that starts a credentials header (a superset of what {@link CREDENTIAL_HEADER} takes). */
const CREDENTIAL_ANYWHERE = /^(?:proxy-)?authorization[ \t]*:/im;
/** `response="…"` or `response=token` inside Digest credentials (RFC 3261 §25.1 digest-response). */
const DIGEST_RESPONSE = /(^|[\s,])(response[ \t]*=[ \t]*)("(?:[^"\\]|\\.)*"?|[^\s,]*)/gi;

/**
 * The message text with `Authorization`/`Proxy-Authorization` secrets replaced (pure). Digest
 * credentials keep their parameters but `response`; any other scheme keeps only its name.
 * @example redactCredentials('Authorization: Digest username="bob", response="abc"')
 *   // → 'Authorization: Digest username="bob", response="[redacted]"'
 */
export function redactCredentials(text: string): string {
  // Most messages carry no credentials: one scan instead of a split and a match per line.
  if (!CREDENTIAL_ANYWHERE.test(text)) return text;
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const lines = head.split('\r\n');
  let changed = false;
  for (let i = 0; i < lines.length; i++) {
    const m = CREDENTIAL_HEADER.exec(lines[i] as string);
    if (m === null) continue;
    const [, name, sep, value] = m as unknown as [string, string, string, string];
    const scheme = /^\s*(\S+)/.exec(value)?.[1] ?? '';
    let safe: string;
    if (scheme.toLowerCase() === 'digest') {
      safe = value.replace(
        DIGEST_RESPONSE,
        (_all, lead: string, key: string) => `${lead}${key}"${REDACTED}"`,
      );
    } else safe = `${scheme} ${REDACTED}`.trim();
    lines[i] = `${name}${sep}${safe}`;
    changed = true;
    // A folded continuation line (RFC 3261 §7.3.1) belongs to the same value: drop its text.
    while (i + 1 < lines.length && /^[ \t]/.test(lines[i + 1] as string)) {
      lines[i + 1] = ` ${REDACTED}`;
      i++;
    }
  }
  if (!changed) return text;
  return end < 0 ? lines.join('\r\n') : lines.join('\r\n') + text.slice(end);
}

function endpointText(e: TraceEndpoint): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

export interface CallTraceDeps {
  readonly clock: Pick<Clock, 'now'>;
  /** The role of a configured interface (inside unless said otherwise). */
  readonly roleOf: (interfaceName: string) => TraceRole;
}

/**
 * The trace store. `record` is on the SIP hot path: for a message of no traced call it costs the
 * canonical Call-ID and one map lookup.
 */
export class CallTrace implements SipTraceSink {
  private readonly slots = new Map<string, Slot>();
  /**
   * Maps a Call-ID on the wire to the call's one identity (topology hiding seals Call-IDs across
   * the firewall; the proxy sets this so both legs land in the same slot). Identity by default.
   */
  canonicalCallId: (callId: string) => string = (id) => id;

  constructor(
    private readonly deps: CallTraceDeps,
    readonly limits: TraceLimits = DEFAULT_TRACE_LIMITS,
  ) {
    for (const [k, v] of Object.entries(limits)) {
      if (!Number.isInteger(v) || v < 1)
        throw new RangeError(`trace limit ${k} must be an integer ≥ 1, got ${v}`);
    }
  }

  record(
    direction: TraceDirection,
    message: SipMessage,
    bytes: Buffer,
    socket: TraceSocket,
    peer: TraceEndpoint,
  ): void {
    const wireId = message.callId;
    const id = this.canonicalCallId(wireId);
    let slot = this.slots.get(id);
    if (slot === undefined) {
      if (message.kind !== 'request' || message.method !== 'INVITE') return;
      slot = { callId: id, firstAt: this.deps.clock.now(), messages: [], dropped: 0 };
      this.slots.set(id, slot);
      while (this.slots.size > this.limits.maxCalls) {
        const oldest = this.slots.keys().next().value as string;
        this.slots.delete(oldest);
      }
    }
    // Copied: a received buffer may be a slice of a larger one (a TCP read), a sent one of Node's
    // pool. What is shown is cut at `maxMessageBytes` after redaction, which can shorten a line:
    // a little more is kept so the cut text is the same as if the whole message had been kept.
    const keep = Math.min(bytes.length, this.limits.maxMessageBytes + REDACTION_SLACK);
    slot.messages.push({
      at: this.deps.clock.now(),
      direction,
      socket,
      address: peer.address,
      port: peer.port,
      callId: wireId,
      method: message.kind === 'request' ? message.method : null,
      status: message.kind === 'response' ? message.status : null,
      reason: message.kind === 'response' ? message.reason : null,
      cseqMethod: message.cseq.method,
      bytes: Buffer.from(bytes.subarray(0, keep)),
      length: bytes.length,
    });
    if (slot.messages.length > this.limits.maxMessagesPerCall) {
      slot.messages.shift();
      slot.dropped++;
    }
  }

  /** The trace of one call, by its Call-ID on either leg; undefined when not (or no longer) kept. */
  get(callId: string): CallTraceView | undefined {
    const slot = this.slots.get(this.canonicalCallId(callId));
    if (slot === undefined) return undefined;
    return {
      callId: slot.callId,
      firstAt: slot.firstAt,
      messages: slot.messages.map((k) => this.traced(k)),
      dropped: slot.dropped,
    };
  }

  /** A kept message as the trace shows it: secrets redacted first, then cut at `maxMessageBytes`. */
  private traced(k: Kept): TracedMessage {
    // Redact the (kept) header section first, then cut: a cut never leaves half a secret behind,
    // and a credentials line cut short by the copy is still redacted (the patterns take a prefix).
    const max = this.limits.maxMessageBytes;
    const headEnd = k.bytes.indexOf('\r\n\r\n');
    const headLen = headEnd < 0 ? k.bytes.length : headEnd;
    const head = redactCredentials(k.bytes.subarray(0, headLen).toString('latin1'));
    const room = Math.max(0, max - head.length);
    const body = k.bytes.subarray(headLen, headLen + room).toString('latin1');
    const fullLength = head.length + (k.length - headLen);
    return {
      at: k.at,
      direction: k.direction,
      interface: k.socket.interfaceName,
      role: this.deps.roleOf(k.socket.interfaceName),
      transport: k.socket.protocol,
      peer: endpointText(k),
      callId: k.callId,
      method: k.method,
      status: k.status,
      reason: k.reason,
      cseqMethod: k.cseqMethod,
      text: (head + body).slice(0, max),
      truncated: fullLength > max,
    };
  }

  /** Calls held now. */
  get size(): number {
    return this.slots.size;
  }
}
