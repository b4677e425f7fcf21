/**
 * RFC 3261 §18.1.1: a request within 200 bytes of the path MTU, or larger than 1300 bytes when
 * the MTU is unknown, MUST go over a congestion-controlled transport (TCP) if one is available.
 */
export const UDP_SIZE_LIMIT_BYTES = 1300;

export function mustSwitchToTcp(
  messageBytes: number,
  protocol: 'udp' | 'tcp' | 'tls',
  mtu?: number,
): boolean {
  if (protocol !== 'udp') return false;
  const limit = mtu === undefined ? UDP_SIZE_LIMIT_BYTES : mtu - 200;
  return messageBytes > limit;
}
