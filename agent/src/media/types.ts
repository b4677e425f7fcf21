/**
 * The media layer's contracts: what a pinhole is, what a driver does, what counters it reports.
 *
 * A media stream crosses the firewall between two sides, `a` and `b` (an interface each: inside
 * and outside, or two inside parties on one interface). On each side the agent allocates one local
 * port on that interface's address and tells the party on that side, in the SDP it forwards, to
 * send there. A pinhole joins the two local ports: what a side's peer sends to that side's local
 * port goes out of the other side's local port to the other side's peer. The parties see
 * symmetric media from the agent's addresses only; neither learns the other's address.
 *
 * RTP and RTCP of a stream are two pinholes (two flows, ports p and p + 1 on each side).
 */

/** One UDP endpoint (IPv4 or IPv6 address in text form). */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** One side of a pinhole: the agent's local endpoint on that side, and the party there. */
export interface PinholeSide {
  /** The agent's address on this side and the allocated port: where this side's party sends. */
  readonly local: Endpoint;
  /**
   * Where this side's party receives, from its SDP. A hint, not a filter: with symmetric-RTP
   * latching, the source of the first packet that arrives at `local` becomes the peer (a party
   * behind another NAT sends from an address its SDP does not name).
   */
  readonly peer: Endpoint;
  /**
   * Who may send to `local` (default `any`):
   * - `any`: latching (symmetric RTP): the first source's flow is the side's; strict source after.
   * - `peer`: only `peer` itself, exactly (address and port): a side pinned to what its SDP named
   *   (forked early dialogs: the fork that answered last, no other).
   * - `none`: nothing sent to `local` is forwarded (the other side's party is not known yet: early
   *   media at the offer opens only the callee → caller direction).
   */
  readonly accept?: PinholeAccept;
}

export type PinholeAccept = 'any' | 'peer' | 'none';

/** One flow (RTP or RTCP of one stream) between two sides. */
export interface PinholeSpec {
  /** Unique among open pinholes, e.g. `<session>/<stream index>/rtp`. */
  readonly id: string;
  readonly a: PinholeSide;
  readonly b: PinholeSide;
  /**
   * Safety net: the driver removes the pinhole on its own after this many seconds without a
   * refresh (`open` again with the same id), whatever happens to the agent.
   */
  readonly timeoutSec: number;
}

/** Packets and bytes that arrived at one side's local port and were forwarded to the other side. */
export interface FlowCounters {
  readonly packets: number;
  readonly bytes: number;
}

/** A pinhole's counters each way. */
export interface PinholeCounters {
  /** Sent by a's peer, forwarded to b's peer. */
  readonly aToB: FlowCounters;
  /** Sent by b's peer, forwarded to a's peer. */
  readonly bToA: FlowCounters;
  /** Packets dropped because they came from a source other than the latched peer (strict source). */
  readonly dropped: number;
}

export type PinholeDriverKind = 'nftables' | 'relay';

/**
 * A pinhole driver: the kernel (`nftables`: media never enters user space) or a user-space UDP
 * relay (`relay`). Both keep the same semantics, so the session layer does not know which it has:
 *
 * - `open` opens (or refreshes: same id, same or new endpoints) every given pinhole in one go; for
 *   the kernel driver one transaction. It resolves once packets flow.
 * - Strict source: once a side's peer is known (the first packet from it arrived), packets to that
 *   side's local port from any other source are dropped and counted, never forwarded.
 * - `close` stops the flows at once (the kernel driver also flushes their conntrack entries), and
 *   is a no-op for ids it does not know.
 * - `reconcile` removes every pinhole the driver holds (in the kernel: finds) whose id is not in
 *   `live`, and says how many it removed: called at start, so nothing survives a `kill -9`.
 */
export interface PinholeDriver {
  readonly kind: PinholeDriverKind;
  open(pinholes: readonly PinholeSpec[]): Promise<void>;
  close(ids: readonly string[]): Promise<void>;
  counters(ids: readonly string[]): Promise<ReadonlyMap<string, PinholeCounters>>;
  reconcile(live: ReadonlySet<string>): Promise<number>;
  /** Releases the driver's resources; the kernel driver leaves the kernel state alone. */
  dispose(): Promise<void>;
}
