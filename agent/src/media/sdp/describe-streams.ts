import {
  type IpVersion,
  isUnspecifiedAddress,
  type MediaDirection,
  type ParsedSdp,
  type SdpConnection,
} from './parse-sdp.js';

/** What the session layer needs to know about one `m=` line to anchor it. */
export interface StreamDescription {
  /** Position of the `m=` line: offer and answer pair streams by it (RFC 3264 §6). */
  readonly index: number;
  /** `audio`, `video`, `application`, `image`, … */
  readonly media: string;
  /** `RTP/AVP`, `RTP/SAVP`, `UDP/TLS/RTP/SAVPF`, `udptl`, … */
  readonly protocol: string;
  readonly formats: readonly string[];
  /** 0: the stream is removed (offer) or refused (answer) (RFC 3264 §6, §8.2). */
  readonly port: number;
  /** `m=<media> <port>/<count>`: 1 unless the line says otherwise. */
  readonly numPorts: number;
  /** The `c=` that applies: the stream's own first one, else the session's (RFC 8866 §5.7). */
  readonly connection: { readonly ipVersion: IpVersion; readonly address: string } | undefined;
  readonly ipVersion: IpVersion | undefined;
  /** RFC 3605 `a=rtcp` port, else RTP port + 1 (RFC 3550 §11); 0 for a stream with port 0. */
  readonly rtcpPort: number;
  /** RFC 3605 `a=rtcp` address, else the connection address. */
  readonly rtcpAddress: string | undefined;
  /** `a=rtcp-mux` (RFC 5761): in an answer, RTCP shares the RTP port; in an offer, it is proposed. */
  readonly rtcpMux: boolean;
  /** The stream's direction attribute, else the session's, else `sendrecv` (RFC 3264 §5.1). */
  readonly direction: MediaDirection;
  /**
   * On hold as RFC 3264 §8.4 puts it: `sendonly` or `inactive`, or the connection address is
   * `0.0.0.0` (RFC 2543 style; `::` counted likewise).
   */
  readonly hold: boolean;
}

/** One description per `m=` line of `sdp`, in order. */
export function describeStreams(sdp: ParsedSdp): readonly StreamDescription[] {
  const sessionConnection = sdp.session.connections[0];
  return sdp.media.map((m, index) => {
    const connection = view(m.connections[0] ?? sessionConnection);
    const direction = m.direction ?? sdp.session.direction ?? 'sendrecv';
    const rtcpPort = m.port === 0 ? 0 : (m.rtcp?.port ?? m.port + 1);
    return {
      index,
      media: m.media,
      protocol: m.protocol,
      formats: m.formats,
      port: m.port,
      numPorts: m.numPorts,
      connection,
      ipVersion: connection?.ipVersion,
      rtcpPort,
      rtcpAddress: m.rtcp?.connection?.address ?? connection?.address,
      rtcpMux: m.rtcpMux,
      direction,
      hold:
        direction === 'sendonly' ||
        direction === 'inactive' ||
        (connection !== undefined && isUnspecifiedAddress(connection.address)),
    };
  });
}

function view(c: SdpConnection | undefined): StreamDescription['connection'] {
  return c === undefined ? undefined : { ipVersion: c.ipVersion, address: c.address };
}
