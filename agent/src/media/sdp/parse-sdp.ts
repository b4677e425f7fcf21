import { isIPv4, isIPv6 } from 'node:net';
import { err, ok, type Result } from '@sipwall/shared';
import { parse as parseWithSdpTransform, type SessionDescription } from 'sdp-transform';
import type { SdpError, SdpErrorReason } from './sdp-error.js';

export type IpVersion = 4 | 6;
export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** A `c=` line (RFC 8866 §5.7), with a multicast `/ttl[/count]` suffix kept apart from the address. */
export interface SdpConnection {
  /** Index in {@link ParsedSdp.lines}. */
  readonly line: number;
  readonly ipVersion: IpVersion;
  readonly address: string;
}

/** An `a=rtcp` attribute (RFC 3605 §2.1): the port, and the address when the attribute names one. */
export interface SdpRtcpAttribute {
  readonly line: number;
  readonly port: number;
  readonly connection?: { readonly ipVersion: IpVersion; readonly address: string };
}

/** Lines `[start, end)` of {@link ParsedSdp.lines} and what the media layer reads from them. */
export interface SdpSection {
  readonly start: number;
  readonly end: number;
  /** Every `c=` line of the section, in order; the first one applies (RFC 8866 §5.7). */
  readonly connections: readonly SdpConnection[];
  /** The last direction attribute of the section, if any (RFC 3264 §5.1). */
  readonly direction: MediaDirection | undefined;
}

/** One media description: its `m=` line is `lines[start]`. */
export interface SdpMediaSection extends SdpSection {
  readonly media: string;
  readonly port: number;
  /** The `/<number of ports>` of the `m=` line (RFC 8866 §5.14), 1 when absent. */
  readonly numPorts: number;
  readonly protocol: string;
  readonly formats: readonly string[];
  readonly rtcp: SdpRtcpAttribute | undefined;
  /** `a=rtcp-mux` (RFC 5761 §5.1.1). */
  readonly rtcpMux: boolean;
}

/**
 * A parsed SDP body: its lines (without terminators) with the positions the rewrite edits, and
 * sdp-transform's structured view for everything else (codecs, ICE, SRTP, DTLS).
 */
export interface ParsedSdp {
  /** The body's lines as they came (latin1: every byte survives), blank lines left out. */
  readonly lines: readonly string[];
  /** Index of the `o=` line in {@link lines}. */
  readonly originLine: number;
  /** Everything before the first `m=` line. */
  readonly session: SdpSection;
  /** One per `m=` line, in order: the index is the stream's position (RFC 3264 §6). */
  readonly media: readonly SdpMediaSection[];
  /** sdp-transform's parse of the same text: read-only detail (rtp/fmtp, crypto, fingerprint, ICE). */
  readonly details: SessionDescription;
}

export interface ParseSdpOptions {
  /** Bodies longer than this many bytes are refused unread (`too-large`); default 64 KiB. */
  readonly maxBytes?: number;
}

export const DEFAULT_MAX_SDP_BYTES = 64 * 1024;

// Controls other than HT, CR, LF: binary junk, never in an SDP (RFC 8866 §9 grammar).
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;
const LINE = /^[a-z]=/;
const DIRECTIONS: ReadonlySet<string> = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

type Failure = { ok: false; error: SdpError };

const fail = (reason: SdpErrorReason, detail: string, line?: number): Failure =>
  err(line === undefined ? { reason, detail } : { reason, detail, line: line + 1 });

const shorten = (text: string): string => (text.length > 60 ? `${text.slice(0, 60)}…` : text);

/**
 * Parses an SDP body (an offer or an answer). Never throws: anything that is not an SDP the media
 * layer can anchor is an {@link SdpError}. A string is taken as UTF-8 bytes; lines end in CRLF, LF or
 * CR; blank lines are skipped.
 *
 * @example
 * const parsed = parseSdp(msg.body);
 * if (!parsed.ok) return reply488(parsed.error.reason);
 * const streams = describeStreams(parsed.value);
 */
export function parseSdp(body: Buffer | string, options: ParseSdpOptions = {}): Result<ParsedSdp, SdpError> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_SDP_BYTES;
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (bytes.length > maxBytes) return fail('too-large', `${bytes.length} bytes, limit ${maxBytes}`);
  const text = bytes.toString('latin1');
  if (CONTROL.test(text)) return fail('not-sdp', 'control characters in the body');
  const lines = text.split(/\r\n|\r|\n/).filter((l) => l.length > 0);
  if (lines[0]?.trimEnd() !== 'v=0') return fail('not-sdp', 'the body does not start with v=0', 0);
  for (let i = 1; i < lines.length; i++) {
    if (!LINE.test(lines[i]!)) return fail('not-sdp', `not a <type>=<value> line: ${shorten(lines[i]!)}`, i);
  }
  const firstMedia = lines.findIndex((l) => l.startsWith('m='));
  const sessionEnd = firstMedia < 0 ? lines.length : firstMedia;

  const originLine = lines.findIndex((l, i) => i < sessionEnd && l.startsWith('o='));
  if (originLine < 0) return fail('bad-origin', 'no o= line in the session section');
  if (tokens(lines[originLine]!).length !== 6)
    return fail('bad-origin', `o= needs six fields: ${shorten(lines[originLine]!)}`, originLine);
  if (!lines.some((l, i) => i < sessionEnd && l.startsWith('s=')))
    return fail('bad-origin', 'no s= line in the session section');
  if (firstMedia < 0) return fail('no-media', 'no m= line');

  const session = readSection(lines, 0, sessionEnd);
  if (!session.ok) return session;
  const media: SdpMediaSection[] = [];
  for (let start = firstMedia; start < lines.length; ) {
    let end = start + 1;
    while (end < lines.length && !lines[end]!.startsWith('m=')) end++;
    const section = readMediaSection(lines, start, end);
    if (!section.ok) return section;
    if (
      section.value.port !== 0 &&
      section.value.connections.length === 0 &&
      session.value.connections.length === 0
    )
      return fail('no-connection', `stream ${media.length} has a port but no c=`, start);
    media.push(section.value);
    start = end;
  }

  let details: SessionDescription | undefined;
  return ok({
    lines,
    originLine,
    session: session.value,
    media,
    // Parsed on first use (codec names of dynamic payload types, ICE, SRTP): most calls never ask,
    // and sdp-transform's regular expressions cost more than the rest of the parse. It is lenient;
    // should it throw on an odd attribute, the detail is empty rather than the call refused (the
    // line parse above already accepted the body).
    get details(): SessionDescription {
      if (details === undefined) {
        try {
          details = parseWithSdpTransform(lines.join('\r\n'));
        } catch {
          details = { media: [] } as unknown as SessionDescription;
        }
      }
      return details;
    },
  });
}

function tokens(line: string): string[] {
  return line
    .slice(2)
    .trim()
    .split(/[ \t]+/);
}

function readSection(lines: readonly string[], start: number, end: number): Result<SdpSection, SdpError> {
  const connections: SdpConnection[] = [];
  let direction: MediaDirection | undefined;
  for (let i = start; i < end; i++) {
    const line = lines[i]!;
    if (line.startsWith('c=')) {
      const c = readConnection(line.slice(2));
      if (c === undefined) return fail('bad-connection', `not IN IP4/IP6 <address>: ${shorten(line)}`, i);
      connections.push({ line: i, ...c });
    } else if (line.startsWith('a=')) {
      const name = line.slice(2).trimEnd();
      if (DIRECTIONS.has(name)) direction = name as MediaDirection;
    }
  }
  return ok({ start, end, connections, direction });
}

function readMediaSection(
  lines: readonly string[],
  start: number,
  end: number,
): Result<SdpMediaSection, SdpError> {
  const mLine = lines[start]!;
  const [media, portField, protocol, ...formats] = tokens(mLine);
  const portMatch = /^(\d{1,5})(?:\/(\d{1,5}))?$/.exec(portField ?? '');
  const port = Number(portMatch?.[1]);
  const numPorts = portMatch?.[2] === undefined ? 1 : Number(portMatch[2]);
  if (media === undefined || media === '' || protocol === undefined || formats.length === 0)
    return fail('bad-media', `m= needs media, port, protocol and formats: ${shorten(mLine)}`, start);
  if (portMatch === null || port > 65535 || numPorts < 1 || port + 2 * (numPorts - 1) > 65535)
    return fail('bad-media', `bad port in ${shorten(mLine)}`, start);

  const section = readSection(lines, start + 1, end);
  if (!section.ok) return section;
  let rtcp: SdpRtcpAttribute | undefined;
  let rtcpMux = false;
  for (let i = start + 1; i < end; i++) {
    const line = lines[i]!;
    if (line.startsWith('a=rtcp:')) {
      const attribute = readRtcp(line.slice(7));
      if (attribute === undefined)
        return fail('bad-rtcp', `not rtcp:<port> [IN IP4|IP6 <address>]: ${shorten(line)}`, i);
      rtcp = { line: i, ...attribute };
    } else if (line.trimEnd() === 'a=rtcp-mux') {
      rtcpMux = true;
    }
  }
  return ok({ ...section.value, start, media, port, numPorts, protocol, formats, rtcp, rtcpMux });
}

/** `IN IP4 <address>[/ttl[/count]]` or `IN IP6 <address>[/count]`; undefined for anything else. */
function readConnection(value: string): { ipVersion: IpVersion; address: string } | undefined {
  const [netType, addrType, address, ...rest] = value.trim().split(/[ \t]+/);
  if (netType !== 'IN' || address === undefined || rest.length > 0) return undefined;
  const bare = address.split('/')[0]!;
  return checkedAddress(addrType, bare);
}

/** The value of an `a=rtcp:` line (after the colon); undefined when it is not RFC 3605 §2.1. */
export function readRtcp(value: string): Omit<SdpRtcpAttribute, 'line'> | undefined {
  const [portField, netType, addrType, address, ...rest] = value.trim().split(/[ \t]+/);
  if (!/^\d{1,5}$/.test(portField ?? '') || rest.length > 0) return undefined;
  const port = Number(portField);
  if (port < 1 || port > 65535) return undefined;
  if (netType === undefined) return { port };
  if (netType !== 'IN' || address === undefined) return undefined;
  const connection = checkedAddress(addrType, address);
  return connection === undefined ? undefined : { port, connection };
}

function checkedAddress(
  addrType: string | undefined,
  address: string,
): { ipVersion: IpVersion; address: string } | undefined {
  if (addrType === 'IP4' && isIPv4(address)) return { ipVersion: 4, address };
  if (addrType === 'IP6' && isIPv6(address)) return { ipVersion: 6, address };
  return undefined;
}

/** `0.0.0.0` or `::` (any spelling): "send nothing here", the old hold (RFC 3264 §8.4). */
export function isUnspecifiedAddress(address: string): boolean {
  if (isIPv4(address)) return address === '0.0.0.0';
  return isIPv6(address) && /^[0:]+$/.test(address);
}
