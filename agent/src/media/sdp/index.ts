export { type StreamDescription, describeStreams } from './describe-streams.js';
export {
  DEFAULT_MAX_SDP_BYTES,
  type IpVersion,
  isUnspecifiedAddress,
  type MediaDirection,
  type ParsedSdp,
  type ParseSdpOptions,
  parseSdp,
  type SdpConnection,
  type SdpMediaSection,
  type SdpRtcpAttribute,
  type SdpSection,
} from './parse-sdp.js';
export { type RewritePlan, rewriteSdp, type StreamPlan } from './rewrite-sdp.js';
export type { SdpError, SdpErrorReason, SdpRewriteError, SdpRewriteErrorReason } from './sdp-error.js';
