/**
 * The user-space UDP relay `PinholeDriver`, for hosts without nftables or without the privilege to
 * use it. Each pinhole binds one UDP socket on `a.local` and one on `b.local`; a datagram that
 * arrives at one side's socket from that side's peer leaves through the other side's socket to the
 * other side's peer (see `../types.ts` for the contract both drivers keep).
 *
 * Latching (symmetric RTP): a side's SDP peer is a hint. The source of the first datagram arriving
 * at a side's socket becomes that side's peer; the reverse direction goes there from then on.
 * Strict source: once latched, datagrams from any other source are dropped and counted, never
 * forwarded. Two ways to move a latched side, both for media that really moves:
 * - the latched source has been silent for {@link RELATCH_SILENCE_MS} (a re-INVITE, a NAT
 *   rebinding): the next source takes over;
 * - a datagram from exactly the SDP hint while latched elsewhere takes over at once (a third party
 *   that raced the real party to the first datagram loses the port to it; its replies would only
 *   go to the hinted party anyway).
 * `open` with the same id and a changed peer (or local endpoint) resets that side to the new hint.
 *
 * The hot path (one closure per socket, built at bind) allocates nothing of its own: it compares
 * the source with the latched peer, bumps two counters and calls `socket.send(msg, port, address)`.
 * Time is never read per datagram: a sweep every {@link SWEEP_MS} notes which sides moved since
 * the last sweep (their last-activity time) and expires idle pinholes, so activity times and the
 * timeout are precise to one sweep. Only the rare path (a datagram from a source other than the
 * latched one) reads the clock.
 */
import { createSocket, type Socket, type SocketOptions, type SocketType } from 'node:dgram';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { AgentError } from '../../errors.js';
import { type Clock, createSystemClock, type TimerHandle } from '../../util/clock.js';
import type {
  Endpoint,
  PinholeAccept,
  PinholeCounters,
  PinholeDriver,
  PinholeSide,
  PinholeSpec,
} from '../types.js';

/**
 * How long a latched source must be silent before another source may take its place (ms). Long
 * enough that normal jitter, a dropped burst or a packet-loss spike never hands a live port to a
 * sprayer (RTP runs at 50 packets/s, RTCP every ~5 s — RTCP flows are also covered because a
 * relatch needs silence *and* a new source), short enough that media moved by a re-INVITE without
 * a fresh `open` recovers within a few seconds.
 */
export const RELATCH_SILENCE_MS = 3_000;

/** Period of the housekeeping sweep (activity times, idle timeout). */
export const SWEEP_MS = 250;

export type RelaySideName = 'a' | 'b';

/** Called with each RTCP datagram the relay forwards on a pinhole marked as RTCP. */
export type RtcpTap = (id: string, side: RelaySideName, packet: Buffer) => void;

export interface RelayDriverOptions {
  readonly logger: Logger;
  /** Defaults to the system clock; a `ManualClock` in tests. */
  readonly clock?: Clock;
  /**
   * Observes RTCP: called synchronously with every datagram forwarded on a pinhole marked as RTCP
   * (see `isRtcp`). `side` is the side whose peer sent it: a report block from side `a` describes
   * what a's party receives, i.e. the b → a direction. The buffer is dgram's own, not reused.
   */
  readonly onRtcp?: RtcpTap;
  /** Which pinholes carry RTCP. Default: the id ends with `/rtcp`. */
  readonly isRtcp?: (spec: PinholeSpec) => boolean;
  /** Told when a pinhole expired on its own (no packets either way and no refresh for `timeoutSec`). */
  readonly onExpire?: (id: string) => void;
  /** SO_RCVBUF / SO_SNDBUF to ask for on each socket; the system default when absent. */
  readonly socketBufferBytes?: number;
  /** Overrides {@link RELATCH_SILENCE_MS}. */
  readonly relatchSilenceMs?: number;
}

/** Error codes this driver raises (as `AgentError.code`). */
export type RelayErrorCode = 'AGENT_ERR_RELAY_SPEC' | 'AGENT_ERR_RELAY_BIND' | 'AGENT_ERR_RELAY_DISPOSED';

function relayError(code: RelayErrorCode, message: string, cause?: unknown): AgentError {
  return new AgentError(code, message, cause === undefined ? undefined : { cause });
}

function text(ep: Endpoint): string {
  return isIP(ep.address) === 6 ? `[${ep.address}]:${ep.port}` : `${ep.address}:${ep.port}`;
}

function sameEndpoint(x: Endpoint, y: Endpoint): boolean {
  return x.port === y.port && x.address === y.address;
}

/** `0.0.0.0`, `::` or port 0: no usable hint, the relay sends nothing that way until latched. */
function isUnspecified(ep: Endpoint): boolean {
  return ep.port === 0 || ep.address === '0.0.0.0' || ep.address === '::';
}

/**
 * Every address the relay sends to is an IP literal (validated at `open`, or a datagram's source),
 * so answer dgram's per-send lookup synchronously instead of through `dns.lookup`, which answers a
 * literal only on the next tick (one tick and closure per datagram).
 */
function literalLookup(
  address: string,
  family: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  callback(null, address, family === 6 || family === 'IPv6' ? 6 : 4);
}

/** One side's socket, peer and counters. One shape for every side (the hot path stays monomorphic). */
class Side {
  socket: Socket;
  local: Endpoint;
  hint: Endpoint;
  /** Where the other side's datagrams go; port 0 while nothing is known. */
  peerAddress: string;
  peerPort: number;
  latched = false;
  latchedToHint = false;
  /** `PinholeSide.accept`: latching (`any`), the hint only (`peer`), or nothing (`none`). */
  accept: PinholeAccept;
  /** Arrived here from the peer and forwarded. */
  packets = 0;
  bytes = 0;
  /** `packets` at the last sweep, and the time of the last sweep (or event) that saw it move. */
  seenPackets = 0;
  lastActive: number;

  constructor(
    readonly name: RelaySideName,
    socket: Socket,
    spec: PinholeSide,
    now: number,
  ) {
    this.socket = socket;
    this.local = spec.local;
    this.hint = spec.peer;
    this.peerAddress = spec.peer.address;
    this.peerPort = isUnspecified(spec.peer) ? 0 : spec.peer.port;
    this.accept = spec.accept ?? 'any';
    this.lastActive = now;
  }

  resetToHint(spec: PinholeSide): void {
    this.hint = spec.peer;
    this.peerAddress = spec.peer.address;
    this.peerPort = isUnspecified(spec.peer) ? 0 : spec.peer.port;
    this.accept = spec.accept ?? 'any';
    this.latched = false;
    this.latchedToHint = false;
  }
}

class Pinhole {
  dropped = 0;
  refreshedAt: number;
  timeoutMs: number;
  rtcp: boolean;
  /** Socket 'error' already logged for this pinhole (log once, not per datagram). */
  errorLogged = false;

  constructor(
    readonly id: string,
    readonly a: Side,
    readonly b: Side,
    timeoutSec: number,
    rtcp: boolean,
    now: number,
  ) {
    this.refreshedAt = now;
    this.timeoutMs = timeoutSec * 1000;
    this.rtcp = rtcp;
  }
}

/** What `open` must bind for one spec before anything changes. */
interface Plan {
  readonly spec: PinholeSpec;
  readonly existing: Pinhole | undefined;
  readonly bindA: boolean;
  readonly bindB: boolean;
  socketA?: Socket;
  socketB?: Socket;
}

const defaultIsRtcp = (spec: PinholeSpec): boolean => spec.id.endsWith('/rtcp');

export class RelayPinholeDriver implements PinholeDriver {
  readonly kind = 'relay' as const;
  private readonly pinholes = new Map<string, Pinhole>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly relatchMs: number;
  private readonly isRtcp: (spec: PinholeSpec) => boolean;
  private sweepTimer: TimerHandle | undefined;
  /** Mutating calls run one after the other, so a plan made at the start of `open` holds at commit. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Ids of the `open` in flight: the sweep leaves them alone until it commits. */
  private readonly opening = new Set<string>();
  private disposed = false;

  constructor(private readonly options: RelayDriverOptions) {
    this.clock = options.clock ?? createSystemClock();
    this.log = options.logger.child({ driver: 'relay' });
    this.relatchMs = options.relatchSilenceMs ?? RELATCH_SILENCE_MS;
    this.isRtcp = options.isRtcp ?? defaultIsRtcp;
  }

  /** Number of pinholes held. */
  get size(): number {
    return this.pinholes.size;
  }

  open(pinholes: readonly PinholeSpec[]): Promise<void> {
    return this.serial(() => this.openNow(pinholes));
  }

  /**
   * Stops forwarding before it returns its promise (a pinhole held now is forgotten at once, even
   * while another `open` is binding); then, in turn with the other calls, closes what an `open`
   * in flight may have committed meanwhile, and resolves once every socket is released.
   */
  close(ids: readonly string[]): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const id of ids) {
      const p = this.pinholes.get(id);
      if (p !== undefined) closing.push(this.remove(p));
    }
    return this.serial(async () => {
      for (const id of ids) {
        const p = this.pinholes.get(id);
        if (p !== undefined) closing.push(this.remove(p));
      }
      await Promise.all(closing);
    });
  }

  async counters(ids: readonly string[]): Promise<ReadonlyMap<string, PinholeCounters>> {
    const out = new Map<string, PinholeCounters>();
    for (const id of ids) {
      const p = this.pinholes.get(id);
      if (p === undefined) continue;
      out.set(id, {
        aToB: { packets: p.a.packets, bytes: p.a.bytes },
        bToA: { packets: p.b.packets, bytes: p.b.bytes },
        dropped: p.dropped,
      });
    }
    return out;
  }

  reconcile(live: ReadonlySet<string>): Promise<number> {
    return this.serial(async () => {
      const stray = [...this.pinholes.values()].filter((p) => !live.has(p.id));
      await Promise.all(stray.map((p) => this.remove(p)));
      return stray.length;
    });
  }

  dispose(): Promise<void> {
    return this.serial(async () => {
      this.disposed = true;
      if (this.sweepTimer !== undefined) this.clock.clearTimeout(this.sweepTimer);
      this.sweepTimer = undefined;
      await Promise.all([...this.pinholes.values()].map((p) => this.remove(p)));
    });
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(op, op);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async openNow(specs: readonly PinholeSpec[]): Promise<void> {
    if (this.disposed) throw relayError('AGENT_ERR_RELAY_DISPOSED', 'relay driver disposed');
    validate(specs);
    for (const spec of specs) this.opening.add(spec.id);
    try {
      await this.bindAndCommit(specs);
    } finally {
      this.opening.clear();
    }
  }

  private async bindAndCommit(specs: readonly PinholeSpec[]): Promise<void> {
    // Phase 1: bind every socket the batch needs. Nothing held changes until all are bound, so a
    // failure leaves the driver as it was (the relay's version of "one transaction").
    const plans: Plan[] = specs.map((spec) => {
      const existing = this.pinholes.get(spec.id);
      return {
        spec,
        existing,
        bindA: existing === undefined || !sameEndpoint(existing.a.local, spec.a.local),
        bindB: existing === undefined || !sameEndpoint(existing.b.local, spec.b.local),
      };
    });
    const binds: Promise<void>[] = [];
    for (const plan of plans) {
      if (plan.bindA) {
        binds.push(
          this.bind(plan.spec.id, 'a', plan.spec.a.local).then((s) => {
            plan.socketA = s;
          }),
        );
      }
      if (plan.bindB) {
        binds.push(
          this.bind(plan.spec.id, 'b', plan.spec.b.local).then((s) => {
            plan.socketB = s;
          }),
        );
      }
    }
    const results = await Promise.allSettled(binds);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(plans.flatMap((p) => [p.socketA, p.socketB]).map((s) => s && closeSocket(s)));
      const err = failed.reason as AgentError;
      this.log.error({ err, pinholes: specs.map((s) => s.id) }, 'relay pinholes not opened: bind failed');
      throw err;
    }
    // Phase 2: commit, synchronously.
    const now = this.clock.now();
    const releasing: Socket[] = [];
    for (const plan of plans) {
      const { spec, existing } = plan;
      if (existing !== undefined && this.pinholes.get(spec.id) !== existing) {
        // Closed while this refresh was binding: the close wins.
        if (plan.socketA !== undefined) releasing.push(plan.socketA);
        if (plan.socketB !== undefined) releasing.push(plan.socketB);
        continue;
      }
      const rtcp = this.isRtcp(spec);
      if (existing === undefined) {
        const a = new Side('a', plan.socketA!, spec.a, now);
        const b = new Side('b', plan.socketB!, spec.b, now);
        const p = new Pinhole(spec.id, a, b, spec.timeoutSec, rtcp, now);
        this.wire(p, a, b);
        this.wire(p, b, a);
        this.pinholes.set(spec.id, p);
        continue;
      }
      existing.refreshedAt = now;
      existing.timeoutMs = spec.timeoutSec * 1000;
      existing.rtcp = rtcp;
      this.refreshSide(existing, existing.a, existing.b, spec.a, plan.socketA, releasing);
      this.refreshSide(existing, existing.b, existing.a, spec.b, plan.socketB, releasing);
    }
    this.arm();
    await Promise.all(releasing.map(closeSocket));
  }

  private refreshSide(
    p: Pinhole,
    side: Side,
    other: Side,
    spec: PinholeSide,
    socket: Socket | undefined,
    releasing: Socket[],
  ): void {
    if (socket !== undefined) {
      releasing.push(side.socket);
      side.socket.removeAllListeners('message');
      side.socket = socket;
      side.local = spec.local;
      side.resetToHint(spec);
      this.wire(p, side, other);
    } else if (!sameEndpoint(side.hint, spec.peer) || side.accept !== (spec.accept ?? 'any')) {
      side.resetToHint(spec);
    }
  }

  /** Binds one socket on `local`; rejects with an error naming the pinhole, side and endpoint. */
  private bind(id: string, name: RelaySideName, local: Endpoint): Promise<Socket> {
    const v6 = isIP(local.address) === 6;
    const type: SocketType = v6 ? 'udp6' : 'udp4';
    const socket = createSocket({ type, ipv6Only: v6, lookup: literalLookup as SocketOptions['lookup'] });
    return new Promise<Socket>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => {
        socket.close();
        reject(
          relayError(
            'AGENT_ERR_RELAY_BIND',
            `relay pinhole ${id}: cannot bind side ${name} local endpoint ${text(local)}: ${e.code ?? e.message}`,
            e,
          ),
        );
      };
      socket.once('error', onError);
      socket.bind({ address: local.address, port: local.port, exclusive: true }, () => {
        socket.off('error', onError);
        const bytes = this.options.socketBufferBytes;
        if (bytes !== undefined) {
          try {
            socket.setRecvBufferSize(bytes);
            socket.setSendBufferSize(bytes);
          } catch (e) {
            this.log.warn({ err: e, requested: bytes }, 'relay socket buffer size could not be set');
          }
        }
        resolve(socket);
      });
    });
  }

  /** Installs the datagram handler of `from`'s socket: the hot path. */
  private wire(p: Pinhole, from: Side, to: Side): void {
    const tap = this.options.onRtcp;
    from.socket.on('error', (e) => {
      if (p.errorLogged) return;
      p.errorLogged = true;
      this.log.warn({ err: e, pinhole: p.id, side: from.name }, 'relay socket error');
    });
    from.socket.on('message', (msg, rinfo) => {
      if (rinfo.port !== from.peerPort || !from.latched || rinfo.address !== from.peerAddress) {
        // `accept: none`: this side forwards nothing (not a stranger's packet: not counted).
        if (from.accept === 'none') return;
        if (!this.admit(from, rinfo.address, rinfo.port)) {
          p.dropped++;
          return;
        }
      }
      if (to.peerPort === 0) {
        // The other side's party is not known yet (no usable hint, nothing latched): not forwarded,
        // but the flow is alive.
        from.lastActive = this.clock.now();
        return;
      }
      to.socket.send(msg, to.peerPort, to.peerAddress);
      from.packets++;
      from.bytes += msg.length;
      if (p.rtcp && tap !== undefined) {
        try {
          tap(p.id, from.name, msg);
        } catch (e) {
          this.log.warn({ err: e, pinhole: p.id }, 'rtcp tap threw');
        }
      }
    });
  }

  /** A datagram from a source other than the latched peer (or before any latch): take it or not. */
  private admit(side: Side, address: string, port: number): boolean {
    // Pinned to what the SDP named: that source only, never relatched elsewhere.
    if (side.accept === 'peer' && (port !== side.hint.port || address !== side.hint.address)) return false;
    if (side.latched) {
      const fromHint = !side.latchedToHint && port === side.hint.port && address === side.hint.address;
      const silent =
        side.packets === side.seenPackets && this.clock.now() - side.lastActive >= this.relatchMs;
      if (!fromHint && !silent) return false;
    }
    side.peerAddress = address;
    side.peerPort = port;
    side.latched = true;
    side.latchedToHint = port === side.hint.port && address === side.hint.address;
    side.lastActive = this.clock.now();
    return true;
  }

  private arm(): void {
    if (this.sweepTimer !== undefined || this.pinholes.size === 0 || this.disposed) return;
    this.sweepTimer = this.clock.setTimeout(this.sweep, SWEEP_MS);
  }

  private readonly sweep = (): void => {
    this.sweepTimer = undefined;
    const now = this.clock.now();
    const expired: Pinhole[] = [];
    for (const p of this.pinholes.values()) {
      for (const s of [p.a, p.b]) {
        if (s.packets !== s.seenPackets) {
          s.seenPackets = s.packets;
          s.lastActive = now;
        }
      }
      const last = Math.max(p.a.lastActive, p.b.lastActive, p.refreshedAt);
      if (now - last >= p.timeoutMs && !this.opening.has(p.id)) expired.push(p);
    }
    for (const p of expired) {
      void this.remove(p);
      this.options.onExpire?.(p.id);
    }
    this.arm();
  };

  /** Forgets the pinhole at once (no datagram is forwarded after this returns) and closes its sockets. */
  private remove(p: Pinhole): Promise<void> {
    if (this.pinholes.get(p.id) === p) this.pinholes.delete(p.id);
    return Promise.all([this.release(p, p.a.socket), this.release(p, p.b.socket)]).then(() => undefined);
  }

  private async release(p: Pinhole, socket: Socket): Promise<void> {
    socket.removeAllListeners('message');
    try {
      await closeSocket(socket);
    } catch (e) {
      this.log.error({ err: e, pinhole: p.id }, 'relay socket close failed');
    }
  }
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise<void>((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      // Already closed (ERR_SOCKET_DGRAM_NOT_RUNNING): nothing left to release.
      resolve();
    }
  });
}

function validate(specs: readonly PinholeSpec[]): void {
  const ids = new Set<string>();
  for (const spec of specs) {
    const bad = (why: string) =>
      relayError('AGENT_ERR_RELAY_SPEC', `relay pinhole ${JSON.stringify(spec.id)}: ${why}`);
    if (typeof spec.id !== 'string' || spec.id === '') throw bad('empty id');
    if (ids.has(spec.id)) throw bad('id twice in one open');
    ids.add(spec.id);
    if (!Number.isFinite(spec.timeoutSec) || spec.timeoutSec <= 0) throw bad('timeoutSec must be > 0');
    for (const name of ['a', 'b'] as const) {
      const { local, peer } = spec[name];
      const family = isIP(local.address);
      if (family === 0) throw bad(`side ${name} local address ${local.address} is not an IP address`);
      if (!Number.isInteger(local.port) || local.port < 1 || local.port > 65_535) {
        throw bad(`side ${name} local port ${local.port} is not 1-65535`);
      }
      const peerFamily = isIP(peer.address);
      if (peerFamily === 0) throw bad(`side ${name} peer address ${peer.address} is not an IP address`);
      if (!Number.isInteger(peer.port) || peer.port < 0 || peer.port > 65_535) {
        throw bad(`side ${name} peer port ${peer.port} is not 0-65535`);
      }
      const accept = spec[name].accept;
      if (accept !== undefined && accept !== 'any' && accept !== 'peer' && accept !== 'none') {
        throw bad(`side ${name} accept ${JSON.stringify(accept)} is not any, peer or none`);
      }
      if (!isUnspecified(peer) && peerFamily !== family) {
        throw bad(`side ${name} peer ${text(peer)} and local ${text(local)} differ in address family`);
      }
    }
    if (sameEndpoint(spec.a.local, spec.b.local)) throw bad(`both sides on ${text(spec.a.local)}`);
  }
}
