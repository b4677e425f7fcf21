/**
 * Why a body is not an SDP the media layer can anchor. One closed union (tests assert on it, never
 * on `detail`); the proxy answers `488 Not Acceptable Here` (RFC 3261 §21.4.26) for any of them.
 */
export type SdpErrorReason =
  /** Larger than the configured limit; checked before anything else is read. */
  | 'too-large'
  /** Not text lines `<letter>=<value>` starting with `v=0` (binary junk, HTML, a truncated first line). */
  | 'not-sdp'
  /** The session section lacks `o=` or `s=`, or `o=` does not have its six fields (RFC 8866 §5.2). */
  | 'bad-origin'
  /** No `m=` line: nothing to anchor (RFC 3264 §5 allows it, a firewall has no use for it). */
  | 'no-media'
  /** An `m=` line without media, port (0–65535, optional `/<count>`), protocol and a format. */
  | 'bad-media'
  /** A `c=` line that is not `IN IP4 <IPv4>` or `IN IP6 <IPv6>` (FQDNs are not anchored). */
  | 'bad-connection'
  /** A stream with a port but no `c=`, neither its own nor the session's (RFC 8866 §5.7). */
  | 'no-connection'
  /** An `a=rtcp` attribute that is not `rtcp:<port> [IN IP4|IP6 <address>]` (RFC 3605 §2.1). */
  | 'bad-rtcp';

export interface SdpError {
  readonly reason: SdpErrorReason;
  /** For a human (logs): what was wrong, with the offending text shortened. */
  readonly detail: string;
  /** 1-based line of the body where the problem is, when it is one line. */
  readonly line?: number;
}

/** Why a rewrite plan does not fit the SDP it is applied to: a bug in the caller, reported as a value. */
export type SdpRewriteErrorReason =
  /** The plan has not exactly one entry per `m=` line. */
  | 'plan-mismatch'
  /** An address in the plan is not an IPv4 or IPv6 address. */
  | 'bad-address'
  /** A port in the plan is not an integer in 1–65534 (its RTCP port, RTP + 1, must fit too). */
  | 'bad-port';

export interface SdpRewriteError {
  readonly reason: SdpRewriteErrorReason;
  readonly detail: string;
}
