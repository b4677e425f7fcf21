import { isIP, isIPv6 } from 'node:net';
import { err, ok, type Result } from '@sipwall/shared';
import type { Endpoint } from '../types.js';
import { isUnspecifiedAddress, type ParsedSdp, readRtcp, type SdpMediaSection } from './parse-sdp.js';
import type { SdpRewriteError } from './sdp-error.js';

/** What to advertise for one `m=` line. */
export type StreamPlan =
  /** The agent's endpoint on the receiving side: RTP at `local.port`, RTCP at `local.port + 1`. */
  | { readonly kind: 'anchor'; readonly local: Endpoint }
  /** Port 0: keeps a removed or refused stream so, or refuses one (RFC 3264 §6, §8.2). */
  | { readonly kind: 'port-zero' };

/** How to rewrite an SDP for the side that receives it. */
export interface RewritePlan {
  /** The agent's address on the receiving side: `o=`, the session's `c=`, and `c=` of port-0 streams. */
  readonly address: string;
  /** One entry per `m=` line, by index. */
  readonly streams: readonly StreamPlan[];
}

/**
 * The SDP the receiving side's party gets: every address and port it would send media to is the
 * agent's. Works on lines, so every line it does not edit passes byte for byte, in order
 * (attributes it does not know, ICE, SRTP `a=crypto`, DTLS `a=fingerprint`/`a=setup`, `b=`,
 * `a=ssrc`, …). Edited:
 *
 * - `o=`: the address (and IP4/IP6) only; the party's username, session id and version stay, so a
 *   later offer of the party keeps increasing the version the other side sees (RFC 3264 §8).
 * - `c=`: the session's becomes `plan.address`, each stream's first one its endpoint's address
 *   (`plan.address` for port 0); further `c=` lines of a section are dropped (they would name
 *   addresses nobody anchors). A `c=` of `0.0.0.0` or `::` is kept as it is: it means hold
 *   (RFC 3264 §8.4), not an address. An anchored stream without its own `c=` gets one (after `m=`
 *   and `i=`) when the session's `c=` would name another address.
 * - `m=`: the port (a `/<count>` is dropped: one RTP/RTCP pair is anchored per line).
 * - `a=rtcp` (RFC 3605): RTP port + 1, or the RTP port when the stream has `a=rtcp-mux` and the
 *   attribute named the RTP port (RFC 5761 §5.1.3); its address, if any, as for `c=`.
 *
 * Lines end in CRLF, blank lines are gone. A plan that does not fit gives an error, never a throw.
 */
export function rewriteSdp(sdp: ParsedSdp, plan: RewritePlan): Result<Buffer, SdpRewriteError> {
  const invalid = checkPlan(sdp, plan);
  if (invalid !== undefined) return err(invalid);

  const edits = new Map<number, string | null>();
  const inserts = new Map<number, string>();

  const originFields = sdp.lines[sdp.originLine]!.slice(2)
    .trim()
    .split(/[ \t]+/)
    .slice(0, 4);
  edits.set(sdp.originLine, `o=${originFields.join(' ')} ${addrType(plan.address)} ${plan.address}`);

  const sessionConnection = sdp.session.connections[0];
  const sessionHold = sessionConnection !== undefined && isUnspecifiedAddress(sessionConnection.address);
  editConnections(sdp.session.connections, plan.address, edits);
  const sessionAddress = sessionConnection === undefined ? undefined : plan.address;

  sdp.media.forEach((m, index) => {
    const stream = plan.streams[index]!;
    const address = stream.kind === 'anchor' ? stream.local.address : plan.address;
    const port = stream.kind === 'anchor' ? stream.local.port : 0;
    edits.set(m.start, mediaLine(sdp.lines[m.start]!, port));
    editConnections(m.connections, address, edits);
    if (
      m.connections.length === 0 &&
      stream.kind === 'anchor' &&
      !sessionHold &&
      sessionAddress !== address
    ) {
      const at = sdp.lines[m.start + 1]?.startsWith('i=') === true ? m.start + 1 : m.start;
      inserts.set(at, connectionLine(address));
    }
    editRtcp(sdp, m, stream.kind === 'anchor' ? port : undefined, address, edits);
  });

  const out: string[] = [];
  sdp.lines.forEach((line, i) => {
    const edited = edits.get(i);
    if (edited !== null) out.push(edited ?? line);
    const inserted = inserts.get(i);
    if (inserted !== undefined) out.push(inserted);
  });
  return ok(Buffer.from(`${out.join('\r\n')}\r\n`, 'latin1'));
}

function checkPlan(sdp: ParsedSdp, plan: RewritePlan): SdpRewriteError | undefined {
  if (plan.streams.length !== sdp.media.length)
    return {
      reason: 'plan-mismatch',
      detail: `${plan.streams.length} planned streams for ${sdp.media.length} m= lines`,
    };
  if (isIP(plan.address) === 0)
    return { reason: 'bad-address', detail: `not an IP address: ${plan.address}` };
  for (const [index, stream] of plan.streams.entries()) {
    if (stream.kind !== 'anchor') continue;
    const { address, port } = stream.local;
    if (isIP(address) === 0)
      return { reason: 'bad-address', detail: `stream ${index}: not an IP address: ${address}` };
    if (!Number.isInteger(port) || port < 1 || port > 65534)
      return { reason: 'bad-port', detail: `stream ${index}: port ${port}` };
  }
  return undefined;
}

const addrType = (address: string): 'IP4' | 'IP6' => (isIPv6(address) ? 'IP6' : 'IP4');
const connectionLine = (address: string): string => `c=IN ${addrType(address)} ${address}`;

/** The first `c=` of a section names `address` (unless it says hold); the others go. */
function editConnections(
  connections: ParsedSdp['session']['connections'],
  address: string,
  edits: Map<number, string | null>,
): void {
  connections.forEach((c, i) => {
    if (i > 0) edits.set(c.line, null);
    else if (!isUnspecifiedAddress(c.address)) edits.set(c.line, connectionLine(address));
  });
}

/** `m=<media> <port>[/<count>] <rest>` with the new port; the rest as it was. */
function mediaLine(line: string, port: number): string {
  const m = /^(m=[ \t]*\S+[ \t]+)\S+(.*)$/.exec(line)!;
  return `${m[1]}${port}${m[2]}`;
}

/** Every `a=rtcp:` of the stream: the new port (kept for port 0) and, when it names one, address. */
function editRtcp(
  sdp: ParsedSdp,
  m: SdpMediaSection,
  rtpPort: number | undefined,
  address: string,
  edits: Map<number, string | null>,
): void {
  for (let i = m.start + 1; i < m.end; i++) {
    const line = sdp.lines[i]!;
    if (!line.startsWith('a=rtcp:')) continue;
    const rtcp = readRtcp(line.slice(7))!;
    const port =
      rtpPort === undefined ? rtcp.port : m.rtcpMux && rtcp.port === m.port ? rtpPort : rtpPort + 1;
    const c = rtcp.connection;
    const tail =
      c === undefined
        ? ''
        : isUnspecifiedAddress(c.address)
          ? ` IN IP${c.ipVersion} ${c.address}`
          : ` IN ${addrType(address)} ${address}`;
    edits.set(i, `a=rtcp:${port}${tail}`);
  }
}
