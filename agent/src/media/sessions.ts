/**
 * The media session layer: the proxy's {@link MediaBridge}. Every SDP that crosses the firewall
 * comes here (offers and answers in INVITE, 18x/2xx, ACK, re-INVITE, UPDATE, PRACK); the layer
 * anchors each stream on the agent (one port pair per side), rewrites the SDP so each party sends
 * to the agent's address on its own side, and opens one pinhole per flow (RTP, RTCP) once both
 * parties' addresses are known. A call's end closes its pinholes and releases its ports.
 *
 * The decision per SDP is synchronous (the proxy sends the rewritten message in the same turn);
 * driver operations (kernel transaction or socket binds) run behind it, in order per session.
 */
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { getHeader } from '../sip/accessors.js';
import { setBody } from '../sip/edit.js';
import { boundaryOf, mediaType, parseMultipart, serializeMultipart } from '../sip/multipart.js';
import type { SipMessage } from '../sip/message.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { MediaBridge, MediaLeg } from '../proxy/media-bridge.js';
import type { ProxyInterface } from '../proxy/interfaces.js';
import type { PortAllocator, PortPair } from './ports.js';
import { codecProfile } from './quality/emodel.js';
import { type StreamQuality, StreamQualityTracker, type StreamSide } from './quality/tracker.js';
import { describeStreams, type ParsedSdp, parseSdp, rewriteSdp, type StreamPlan } from './sdp/index.js';
import type { Endpoint, PinholeAccept, PinholeCounters, PinholeDriver, PinholeSpec } from './types.js';

/**
 * When the callee's early media may flow (`media.earlyMedia`):
 * - `answer`: pinholes open once both parties' SDP is known (the first 18x with SDP, or the 2xx);
 * - `offer`: at the offer already, the callee → caller direction opens towards the caller's SDP
 *   address, so early media the callee sends to the agent's advertised port before any answer
 *   reaches the agent is forwarded; the caller → callee direction waits for the answer.
 */
export type EarlyMediaPolicy = 'answer' | 'offer';

export interface MediaSessionSettings {
  /** Safety net of every pinhole (refreshed at half of it while its call lives). */
  readonly pinholeTimeoutSec: number;
  /** A session is closed after this long whatever happens (a lost BYE, a restart upstream). */
  readonly maxSessionSec: number;
  /** Default `answer`. */
  readonly earlyMedia?: EarlyMediaPolicy;
  /**
   * Safety net of a half-open pinhole (early media at the offer, no answer yet): it closes on its
   * own after this long unless an answer opened the stream fully. Default 180 (Timer C's order).
   */
  readonly earlyPinholeTimeoutSec?: number;
}

export const DEFAULT_MEDIA_SESSION_SETTINGS: MediaSessionSettings = {
  pinholeTimeoutSec: 3600,
  maxSessionSec: 12 * 3600,
  earlyMedia: 'answer',
  earlyPinholeTimeoutSec: 180,
};

/** A session's media totals when it ends (the call record's media counters). */
export interface MediaSessionSummary {
  readonly callId: string;
  /** From the outside towards the inside (or a → b when no side is outside). */
  readonly packetsIn: number;
  readonly bytesIn: number;
  readonly packetsOut: number;
  readonly bytesOut: number;
  /** Streams that carried packets one way only. */
  readonly oneWayStreams: number;
  readonly droppedFromStrangers: number;
  /** The worst direction's estimated MOS over the streams with receiver reports (RTCP). */
  readonly mos: number | undefined;
}

/**
 * RTCP in user space while RTP stays in the kernel: RTCP flows go through this (relay) driver, so
 * the agent reads the parties' receiver reports (loss, jitter, round trip) for a quality score.
 */
export interface RtcpPath {
  readonly driver: PinholeDriver;
  /** Lets the RTCP local endpoints past the kernel's media filter (and back). */
  readonly admit?: (endpoints: readonly Endpoint[], timeoutSec: number) => void;
  readonly revoke?: (endpoints: readonly Endpoint[]) => void;
}

export interface MediaSessionsDeps {
  readonly driver: PinholeDriver;
  /** Where RTCP goes when not through `driver` (see {@link RtcpPath}). */
  readonly rtcp?: RtcpPath;
  /** The port allocator for an interface's bound address. */
  readonly ports: (iface: ProxyInterface) => PortAllocator;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly settings?: MediaSessionSettings;
  readonly onSessionEnded?: (summary: MediaSessionSummary) => void;
}

interface PeerAddress {
  readonly rtp: Endpoint;
  readonly rtcp: Endpoint;
}

interface Stream {
  readonly index: number;
  media: string;
  /** The agent's port pair per interface name (advertised to the party on that interface). */
  readonly local: Map<string, PortPair>;
  /** The party's receive addresses per interface name, from its SDP. */
  readonly peer: Map<string, PeerAddress>;
  /**
   * The answering side's receive addresses per early dialog (To-tag) of the initial INVITE, the
   * most recent answer last: a forked INVITE gets answers from several; the latest one is `peer`,
   * a 2xx fixes its dialog's, a fork's failure gives the stream back to the latest one left.
   */
  readonly dialogs: Map<string, PeerAddress>;
  /** RTCP shares the RTP port (RFC 5761), as the latest SDP says. */
  rtcpMux: boolean;
  /** Pinhole ids open in the driver. */
  open: string[];
  /** The first payload type's encoding name, as the latest SDP lists it (for the E-model). */
  codec: string | undefined;
  quality: StreamQualityTracker | undefined;
}

interface Session {
  readonly id: string;
  readonly callId: string;
  readonly startedAt: number;
  /** The two interfaces, in the order of the first SDP: a = its sender's side. */
  readonly sides: [ProxyInterface, ProxyInterface];
  /** By `m=` line index; a removed stream leaves a hole. */
  readonly streams: (Stream | undefined)[];
  /** Driver operations of this session, in order. */
  queue: Promise<void>;
  /** Early dialogs (To-tags) that sent SDP before the 2xx, in order; more than one: forked. */
  readonly early: string[];
  /** The interface the initial INVITE's answers come from (where the forks are). */
  answerSide: string | undefined;
  /** The To-tag of the dialog the 2xx to the initial INVITE confirmed. */
  confirmed: string | undefined;
  refreshedAt: number;
  ended: boolean;
}

export interface MediaSessionRow {
  readonly callId: string;
  readonly ageSec: number;
  readonly streams: readonly {
    readonly index: number;
    readonly media: string;
    readonly sides: readonly {
      readonly interface: string;
      readonly role: string;
      readonly local: Endpoint | undefined;
      readonly peer: Endpoint | undefined;
    }[];
    readonly pinholes: readonly string[];
    readonly counters: PinholeCounters | undefined;
    readonly quality: StreamQuality | undefined;
  }[];
}

const SWEEP_MS = 30_000;
/** A stream with packets one way only for this long is flagged one-way. */
const ONE_WAY_AFTER_SEC = 5;
/** Static RTP payload types (RFC 3551) the E-model knows. */
const STATIC_PT: Record<string, string> = { '0': 'PCMU', '8': 'PCMA', '9': 'G722', '18': 'G729' };

/** The encoding name of a stream's first payload type. */
function codecOf(sdp: ParsedSdp, index: number, formats: readonly string[]): string | undefined {
  const pt = formats[0];
  if (pt === undefined) return undefined;
  // Static payload types need no rtpmap (and no sdp-transform parse).
  const known = STATIC_PT[pt];
  if (known !== undefined) return known;
  return sdp.details.media[index]?.rtp.find((r) => String(r.payload) === pt)?.codec;
}

const isRtcpId = (id: string) => id.endsWith('/rtcp');

/** The id of a stream's RTP or RTCP pinhole (the RTCP path and `isRtcpId` go by its suffix). */
const pinholeId = (session: Session, stream: Stream, flow: 'rtp' | 'rtcp') =>
  `${session.id}/${stream.index}/${flow}`;

/** Only `application/sdp` bodies are media descriptions (RFC 3264); other bodies pass as they are. */

/** The session layer's counters, all zero. */
export function mediaCounters() {
  return {
    sdpRewritten: 0,
    sdpRefused: 0,
    portsExhausted: 0,
    pinholesOpened: 0,
    pinholesClosed: 0,
    driverErrors: 0,
  };
}

export class MediaSessions implements MediaBridge {
  private readonly sessions = new Map<string, Session>();
  /** RTCP pinhole id → its stream (for the RTCP tap). */
  private readonly byPinhole = new Map<string, Stream>();
  private settings: MediaSessionSettings;
  private sweepTimer: TimerHandle;
  private nextId = 1;
  readonly counters = mediaCounters();

  constructor(private readonly deps: MediaSessionsDeps) {
    this.settings = deps.settings ?? DEFAULT_MEDIA_SESSION_SETTINGS;
    this.sweepTimer = deps.clock.setTimeout(() => this.sweep(), SWEEP_MS);
  }

  /** The early-media policy offers are anchored with now. */
  get earlyMedia(): EarlyMediaPolicy {
    return this.settings.earlyMedia ?? 'answer';
  }

  /** A new policy (a config change): applies to offers from now on; streams already open stay. */
  setEarlyMedia(policy: EarlyMediaPolicy): void {
    this.settings = { ...this.settings, earlyMedia: policy };
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  /** Removes every pinhole the driver holds from an earlier run (none of them has a live call). */
  async reconcileAtStart(): Promise<number> {
    const live = new Set<string>();
    for (const s of this.sessions.values())
      for (const st of s.streams) for (const id of st?.open ?? []) live.add(id);
    return this.deps.driver.reconcile(live);
  }

  onSdp<M extends SipMessage>(message: M, leg: MediaLeg): M | number {
    const dialog = this.earlyDialogOf(message, leg);
    if (message.body.length === 0) {
      // A 2xx without SDP (the answer came in an 18x): the session fixes on that dialog's answer.
      const session = this.sessions.get(leg.callId);
      if (session !== undefined && dialog?.final === true) this.confirm(session, dialog.tag);
      return message;
    }
    const ctx: AnchorContext = {
      dialog,
      offer: message.kind === 'request' && message.method === 'INVITE',
      answerTag: message.kind === 'response' && message.cseq.method === 'INVITE' ? message.to.tag : undefined,
    };
    const contentType = getHeader(message, 'content-type');
    const type = mediaType(contentType);
    if (type === 'application/sdp') {
      const body = this.anchor(message.body, leg, ctx);
      return typeof body === 'number' ? body : setBody(message, body);
    }
    // RFC 5621: SDP inside a multipart body (with ISUP, say) is anchored in place; the other parts
    // pass byte for byte. A multipart body that does not parse was refused by the body policy.
    if (!type.startsWith('multipart/')) return message;
    const boundary = boundaryOf(contentType ?? '');
    const parsed = boundary === undefined ? undefined : parseMultipart(message.body, boundary);
    if (parsed === undefined || !parsed.ok) return message;
    const index = parsed.value.parts.findIndex((p) => p.contentType === 'application/sdp');
    if (index < 0) return message;
    const body = this.anchor(parsed.value.parts[index]!.body, leg, ctx);
    if (typeof body === 'number') return body;
    return setBody(message, serializeMultipart(parsed.value, new Map([[index, body]])));
  }

  /**
   * The early dialog a response to the initial INVITE belongs to (its To-tag), while the session
   * is not confirmed yet; `final` for the 2xx.
   */
  private earlyDialogOf(message: SipMessage, leg: MediaLeg): EarlyDialog | undefined {
    if (message.kind !== 'response' || message.status <= 100 || message.status >= 300) return undefined;
    if (message.cseq.method !== 'INVITE' || message.to.tag === undefined) return undefined;
    if (this.sessions.get(leg.callId)?.confirmed !== undefined) return undefined;
    return { tag: message.to.tag, final: message.status >= 200 };
  }

  /**
   * A 2xx confirmed one dialog of the initial INVITE: each stream takes that dialog's answer (the
   * last early answer may have come from another fork) and the pinholes follow it, so nothing of
   * the losing forks stays open.
   */
  private confirm(session: Session, tag: string): void {
    if (session.confirmed !== undefined) return;
    session.confirmed = tag;
    const side = session.answerSide;
    const toOpen: PinholeSpec[] = [];
    for (const st of session.streams) {
      if (st === undefined) continue;
      const chosen = st.dialogs.get(tag);
      st.dialogs.clear();
      if (chosen === undefined || side === undefined) continue;
      const current = st.peer.get(side);
      if (current !== undefined && samePeer(current, chosen)) continue;
      st.peer.set(side, chosen);
      toOpen.push(...this.pinholesOf(session, st));
    }
    if (session.early.length > 1)
      this.deps.logger.info(
        { callId: session.callId, forks: session.early.length, moved: toOpen.length > 0 },
        'forked call confirmed: media fixed on the answering dialog',
      );
    if (toOpen.length > 0) this.enqueue(session, () => this.open(session, toOpen));
  }

  /**
   * A branch of the initial INVITE failed (a fork's 486 or 603 while another fork still rings):
   * the early dialog `toTag` is over. Each stream whose answering side has that dialog's answer
   * goes back to the most recent answer of an early dialog still alive, with the same pinholes as
   * when that answer came (the side stays pinned to its SDP address once forked). With no early
   * answer left nothing moves (the call's end closes the stream); after the 2xx nothing either.
   */
  onEarlyDialogEnded(callId: string, toTag: string): void {
    const session = this.sessions.get(callId);
    if (session === undefined || session.ended || session.confirmed !== undefined) return;
    const side = session.answerSide;
    if (side === undefined) return;
    const toOpen: PinholeSpec[] = [];
    let known = false;
    for (const st of session.streams) {
      const ended = st?.dialogs.get(toTag);
      if (st === undefined || ended === undefined) continue;
      known = true;
      st.dialogs.delete(toTag);
      const current = st.peer.get(side);
      const latest = [...st.dialogs.values()].at(-1);
      if (current === undefined || latest === undefined || !samePeer(current, ended)) continue;
      if (samePeer(current, latest)) continue;
      st.peer.set(side, latest);
      toOpen.push(...this.pinholesOf(session, st));
    }
    if (!known) return;
    this.deps.logger.info(
      { callId: session.callId, moved: toOpen.length > 0 },
      'forked call: a fork failed before the 2xx (moved: media back to the latest early answer left)',
    );
    if (toOpen.length > 0) this.enqueue(session, () => this.open(session, toOpen));
  }

  /** One SDP anchored for `leg`: the rewritten body, or the status to refuse it with. */
  private anchor(sdp: Buffer, leg: MediaLeg, ctx: AnchorContext = NO_CONTEXT): Buffer | number {
    const { dialog, offer } = ctx;
    const parsed = parseSdp(sdp);
    if (!parsed.ok) {
      this.counters.sdpRefused++;
      this.deps.logger.info(
        { callId: leg.callId, reason: parsed.error.reason, detail: parsed.error.detail },
        'SDP refused: not a valid session description',
      );
      return 488;
    }
    const session = this.sessionFor(leg);
    if (dialog !== undefined) {
      session.answerSide = leg.from.name;
      if (!session.early.includes(dialog.tag)) session.early.push(dialog.tag);
    }
    // Early media at the offer: the caller's side gets its port pair now (the answer reuses it).
    const early = offer && session.confirmed === undefined && this.settings.earlyMedia === 'offer';
    const descriptions = describeStreams(parsed.value);
    const plans: StreamPlan[] = [];
    const toOpen: PinholeSpec[] = [];
    const toClose: string[] = [];
    // An answer from a losing fork after the 2xx (a late 18x, a second 2xx the caller will end
    // with BYE): rewritten so no address leaks, but it moves nothing.
    const stale =
      ctx.answerTag !== undefined &&
      session.confirmed !== undefined &&
      ctx.answerTag !== session.confirmed &&
      session.answerSide === leg.from.name;
    for (const d of descriptions) {
      let stream = session.streams[d.index];
      if (stale) {
        const pair = stream?.local.get(leg.to.name);
        plans.push(
          pair === undefined || d.port === 0 || d.connection === undefined
            ? { kind: 'port-zero' }
            : { kind: 'anchor', local: { address: leg.to.advertised, port: pair.rtp } },
        );
        continue;
      }
      if (d.port === 0 || d.connection === undefined) {
        plans.push({ kind: 'port-zero' });
        if (stream !== undefined) this.dropStream(session, stream, toClose);
        continue;
      }
      if (stream === undefined) {
        stream = {
          index: d.index,
          media: d.media,
          local: new Map(),
          peer: new Map(),
          dialogs: new Map(),
          rtcpMux: false,
          open: [],
          codec: undefined,
          quality: undefined,
        };
        session.streams[d.index] = stream;
      }
      stream.media = d.media;
      stream.rtcpMux = d.rtcpMux;
      stream.codec = codecOf(parsed.value, d.index, d.formats) ?? stream.codec;
      let pair = stream.local.get(leg.to.name);
      if (pair === undefined) {
        const got = this.deps.ports(leg.to).allocate();
        if (!got.ok) {
          this.counters.portsExhausted++;
          if (got.error.first)
            this.deps.logger.error(
              { interface: leg.to.name, inUse: got.error.inUse, quarantined: got.error.quarantined },
              'media ports exhausted: calls are refused with 503 until ports are free',
            );
          return 503;
        }
        pair = got.value;
        stream.local.set(leg.to.name, pair);
      }
      if (early && !stream.local.has(leg.from.name)) {
        const got = this.deps.ports(leg.from).allocate();
        if (!got.ok) {
          this.counters.portsExhausted++;
          if (got.error.first)
            this.deps.logger.error(
              { interface: leg.from.name, inUse: got.error.inUse, quarantined: got.error.quarantined },
              'media ports exhausted: calls are refused with 503 until ports are free',
            );
          return 503;
        }
        stream.local.set(leg.from.name, got.value);
      }
      const peer: PeerAddress = {
        rtp: { address: d.connection.address, port: d.port },
        rtcp: { address: d.rtcpAddress ?? d.connection.address, port: d.rtcpMux ? d.port : d.rtcpPort },
      };
      stream.peer.set(leg.from.name, peer);
      if (dialog !== undefined) {
        // Re-inserted, so the map stays in answer order (a fork's second 18x is its latest answer).
        stream.dialogs.delete(dialog.tag);
        stream.dialogs.set(dialog.tag, peer);
      }
      plans.push({ kind: 'anchor', local: { address: leg.to.advertised, port: pair.rtp } });
      toOpen.push(...this.pinholesOf(session, stream));
    }
    const rewritten = rewriteSdp(parsed.value, { address: leg.to.advertised, streams: plans });
    if (!rewritten.ok) {
      this.counters.sdpRefused++;
      this.deps.logger.warn({ callId: leg.callId, error: rewritten.error }, 'SDP could not be rewritten');
      return 488;
    }
    this.counters.sdpRewritten++;
    if (toClose.length > 0) this.enqueue(session, () => this.close(toClose));
    if (toOpen.length > 0) this.enqueue(session, () => this.open(session, toOpen));
    if (dialog?.final === true) this.confirm(session, dialog.tag);
    return rewritten.value;
  }

  /** An RTCP datagram a party sent on a pinhole of the RTCP path (the relay's tap). */
  onRtcp(id: string, side: StreamSide, packet: Uint8Array): void {
    const stream = this.byPinhole.get(id);
    if (stream === undefined) return;
    stream.quality ??= this.trackerFor(stream);
    stream.quality.observeRtcp(this.deps.clock.now(), side, packet);
  }

  onCallEnded(callId: string, _fromTag: string): void {
    const session = this.sessions.get(callId);
    if (session === undefined) return;
    this.end(session);
  }

  /** Active sessions for the admin API, with counters and quality: rows `offset` … `offset + limit − 1` (in start order); counters are read for those only. */
  async rows(limit = 1000, offset = 0): Promise<MediaSessionRow[]> {
    return this.rowsOf([...this.sessions.values()].slice(offset, offset + limit));
  }

  /** The active sessions of these calls (those that have one), with counters and quality. */
  async rowsFor(callIds: readonly string[]): Promise<MediaSessionRow[]> {
    const sessions = callIds.map((id) => this.sessions.get(id));
    return this.rowsOf(sessions.filter((s): s is Session => s !== undefined && !s.ended));
  }

  private async rowsOf(sessions: readonly Session[]): Promise<MediaSessionRow[]> {
    const now = this.deps.clock.now();
    const ids = sessions.flatMap((s) =>
      s.streams.flatMap((st) => st?.open.filter((id) => !isRtcpId(id)) ?? []),
    );
    const counters =
      ids.length === 0 ? new Map<string, PinholeCounters>() : await this.deps.driver.counters(ids);
    return sessions.map((s) => ({
      callId: s.callId,
      ageSec: Math.round((now - s.startedAt) / 1000),
      streams: s.streams
        .filter((st): st is Stream => st !== undefined)
        .map((st) => ({
          index: st.index,
          media: st.media,
          sides: s.sides.map((iface) => {
            const pair = st.local.get(iface.name);
            return {
              interface: iface.name,
              role: iface.role,
              local: pair === undefined ? undefined : { address: iface.advertised, port: pair.rtp },
              peer: st.peer.get(iface.name)?.rtp,
            };
          }),
          pinholes: st.open,
          counters: st.open[0] === undefined ? undefined : counters.get(st.open[0]),
          quality: this.qualityOf(st, st.open[0] === undefined ? undefined : counters.get(st.open[0]), now),
        })),
    }));
  }

  /** Stops the sweep; pinholes stay (the next start reconciles them). */
  stop(): void {
    this.deps.clock.clearTimeout(this.sweepTimer);
  }

  // ------------------------------------------------------------------------------------------

  private sessionFor(leg: MediaLeg): Session {
    let s = this.sessions.get(leg.callId);
    if (s === undefined || s.ended) {
      const now = this.deps.clock.now();
      s = {
        id: `s${(this.nextId++).toString(36)}`,
        callId: leg.callId,
        startedAt: now,
        sides: [leg.from, leg.to],
        streams: [],
        queue: Promise.resolve(),
        refreshedAt: now,
        ended: false,
        early: [],
        answerSide: undefined,
        confirmed: undefined,
      };
      this.sessions.set(leg.callId, s);
    }
    return s;
  }

  /**
   * The stream's pinholes when both local pairs and both parties' addresses are known; with
   * `earlyMedia: offer`, before the answer, half-open ones: into the side whose party is not known
   * yet (the callee sends first: latched), towards the party that is (the caller's SDP address);
   * nothing is forwarded the other way until the answer.
   */
  private pinholesOf(session: Session, stream: Stream): PinholeSpec[] {
    const [a, b] = session.sides;
    const aLocal = stream.local.get(a.name);
    const bLocal = stream.local.get(b.name);
    const aPeer = stream.peer.get(a.name);
    const bPeer = stream.peer.get(b.name);
    if (aLocal === undefined || bLocal === undefined) return [];
    let timeoutSec = this.settings.pinholeTimeoutSec;
    if (aPeer === undefined || bPeer === undefined) {
      if (aPeer === undefined && bPeer === undefined) return [];
      if (this.settings.earlyMedia !== 'offer' || session.confirmed !== undefined) return [];
      timeoutSec = Math.min(timeoutSec, this.settings.earlyPinholeTimeoutSec ?? 180);
    }
    const accept = (iface: ProxyInterface, own: PeerAddress | undefined, other: PeerAddress | undefined) =>
      acceptOf(session, iface, own, other);
    const aAccept = accept(a, aPeer, bPeer);
    const bAccept = accept(b, bPeer, aPeer);
    const flow = (f: 'rtp' | 'rtcp'): PinholeSpec => ({
      id: pinholeId(session, stream, f),
      a: {
        local: { address: a.address, port: aLocal[f] },
        peer: aPeer?.[f] ?? unknownPeer(a.address),
        accept: aAccept,
      },
      b: {
        local: { address: b.address, port: bLocal[f] },
        peer: bPeer?.[f] ?? unknownPeer(b.address),
        accept: bAccept,
      },
      timeoutSec,
    });
    return stream.rtcpMux ? [flow('rtp')] : [flow('rtp'), flow('rtcp')];
  }

  private dropStream(session: Session, stream: Stream, toClose: string[]): void {
    toClose.push(...stream.open);
    stream.open = [];
    const endpoints = this.rtcpEndpoints(session, stream);
    if (endpoints.length > 0) this.deps.rtcp?.revoke?.(endpoints);
    this.releasePorts(session, stream);
    session.streams[stream.index] = undefined;
  }

  /** The stream's port pairs back to their allocators (quarantined there). */
  private releasePorts(session: Session, stream: Stream): void {
    for (const [name, pair] of stream.local) {
      const iface = session.sides.find((i) => i.name === name);
      if (iface !== undefined) this.deps.ports(iface).release(pair.rtp);
    }
  }

  private enqueue(session: Session, op: () => Promise<void>): void {
    session.queue = session.queue.then(op).catch((e: unknown) => {
      this.counters.driverErrors++;
      this.deps.logger.warn({ err: e, callId: session.callId }, 'media pinhole operation failed');
    });
  }

  private async open(session: Session, specs: readonly PinholeSpec[]): Promise<void> {
    if (session.ended) return;
    const rtcp = this.deps.rtcp;
    const viaRtcpPath = rtcp === undefined ? [] : specs.filter((p) => isRtcpId(p.id));
    const viaDriver = rtcp === undefined ? specs : specs.filter((p) => !isRtcpId(p.id));
    // The admission first: the kernel driver takes it into the RTP pinholes' batch.
    if (viaRtcpPath.length > 0)
      rtcp?.admit?.(
        viaRtcpPath.flatMap((p) => [p.a.local, p.b.local]),
        this.settings.pinholeTimeoutSec,
      );
    if (viaDriver.length > 0) await this.deps.driver.open(viaDriver);
    if (viaRtcpPath.length > 0) await rtcp?.driver.open(viaRtcpPath);
    this.counters.pinholesOpened += specs.length;
    session.refreshedAt = this.deps.clock.now();
    for (const spec of specs) {
      const [, index] = spec.id.split('/');
      const stream = session.streams[Number(index)];
      if (stream === undefined) continue;
      if (!stream.open.includes(spec.id)) stream.open.push(spec.id);
      if (isRtcpId(spec.id)) this.byPinhole.set(spec.id, stream);
    }
  }

  /** Closes pinholes on both paths (closing an id a driver does not hold is a no-op). */
  private async close(ids: readonly string[], rtcpEndpoints: readonly Endpoint[] = []): Promise<void> {
    for (const id of ids) this.byPinhole.delete(id);
    const rtcp = this.deps.rtcp;
    // The revocation rides in the kernel driver's close batch.
    if (rtcpEndpoints.length > 0) rtcp?.revoke?.(rtcpEndpoints);
    await this.deps.driver.close(rtcp === undefined ? ids : ids.filter((id) => !isRtcpId(id)));
    if (rtcp !== undefined) await rtcp.driver.close(ids.filter(isRtcpId));
    this.counters.pinholesClosed += ids.length;
  }

  private trackerFor(stream: Stream): StreamQualityTracker {
    const profile = stream.codec === undefined ? undefined : codecProfile(stream.codec);
    return new StreamQualityTracker({
      codec: profile ?? 'PCMU',
      oneWayAfterSec: ONE_WAY_AFTER_SEC,
      startedAtMs: this.deps.clock.now(),
    });
  }

  /** The stream's quality now: the RTP pinhole's counters plus the latest receiver reports. */
  private qualityOf(
    stream: Stream,
    rtp: PinholeCounters | undefined,
    now: number,
  ): StreamQuality | undefined {
    if (rtp === undefined) return undefined;
    stream.quality ??= this.trackerFor(stream);
    stream.quality.observeCounters(now, rtp);
    return stream.quality.snapshot(now);
  }

  /** The RTCP local endpoints of a stream (both sides), for the kernel's user-space admission. */
  private rtcpEndpoints(session: Session, stream: Stream): Endpoint[] {
    if (this.deps.rtcp?.revoke === undefined) return [];
    return session.sides.flatMap((iface) => {
      const pair = stream.local.get(iface.name);
      return pair === undefined ? [] : [{ address: iface.address, port: pair.rtcp }];
    });
  }

  private end(session: Session): void {
    if (session.ended) return;
    session.ended = true;
    this.sessions.delete(session.callId);
    const streams = session.streams.filter((st): st is Stream => st !== undefined);
    for (const st of streams) this.releasePorts(session, st);
    const endpoints = streams.flatMap((st) => this.rtcpEndpoints(session, st));
    session.queue = session.queue
      .then(async () => {
        const ids = streams.flatMap((st) => this.allIds(session, st));
        if (ids.length === 0) return;
        const rtpIds = ids.filter((id) => !isRtcpId(id));
        const counters =
          this.deps.onSessionEnded === undefined ? undefined : await this.deps.driver.counters(rtpIds);
        await this.close(ids, endpoints);
        if (counters === undefined) return;
        const now = this.deps.clock.now();
        const mos: number[] = [];
        for (const st of streams) {
          const q = this.qualityOf(st, counters.get(pinholeId(session, st, 'rtp')), now);
          for (const d of [q?.aToB, q?.bToA]) if (d?.mos !== undefined) mos.push(d.mos);
        }
        this.deps.onSessionEnded?.({
          ...summarize(session, streams, counters),
          mos: mos.length === 0 ? undefined : Math.min(...mos),
        });
      })
      .catch((e: unknown) => {
        this.counters.driverErrors++;
        this.deps.logger.warn({ err: e, callId: session.callId }, 'media pinholes could not be closed');
      });
  }

  /** Every pinhole id a stream may have open (also one whose open is still queued). */
  private allIds(session: Session, stream: Stream): string[] {
    return [pinholeId(session, stream, 'rtp'), pinholeId(session, stream, 'rtcp')];
  }

  private sweep(): void {
    const now = this.deps.clock.now();
    const refreshMs = (this.settings.pinholeTimeoutSec * 1000) / 2;
    for (const s of [...this.sessions.values()]) {
      if (now - s.startedAt > this.settings.maxSessionSec * 1000) {
        this.deps.logger.info({ callId: s.callId }, 'media session ended: maximum duration reached');
        this.end(s);
        continue;
      }
      if (now - s.refreshedAt < refreshMs) continue;
      const specs = s.streams.flatMap((st) =>
        st === undefined || st.open.length === 0 ? [] : this.pinholesOf(s, st),
      );
      if (specs.length > 0) this.enqueue(s, () => this.open(s, specs));
    }
    this.sweepTimer = this.deps.clock.setTimeout(() => this.sweep(), SWEEP_MS);
  }
}

/** What the message around an SDP says about it. */
interface AnchorContext {
  /** A response to the initial INVITE before the 2xx: its early dialog. */
  readonly dialog: EarlyDialog | undefined;
  /** An INVITE (an offer; the initial one when the session is not confirmed yet). */
  readonly offer: boolean;
  /** A response to an INVITE: its To-tag. */
  readonly answerTag: string | undefined;
}

const NO_CONTEXT: AnchorContext = { dialog: undefined, offer: false, answerTag: undefined };

interface EarlyDialog {
  readonly tag: string;
  /** A 2xx: the dialog is confirmed. */
  readonly final: boolean;
}

const samePeer = (x: PeerAddress, y: PeerAddress) =>
  x.rtp.address === y.rtp.address &&
  x.rtp.port === y.rtp.port &&
  x.rtcp.address === y.rtcp.address &&
  x.rtcp.port === y.rtcp.port;

/** A party not known yet (the driver sends nothing that way). */
const unknownPeer = (local: string): Endpoint => ({ address: isIP(local) === 6 ? '::' : '0.0.0.0', port: 0 });

/**
 * Who may send to a side's local port: nothing while the other party is unknown (nowhere to
 * forward); the first source while its own party is unknown (the callee's early media at the
 * offer); only its SDP address once the INVITE forked (the fork that answered last, no other);
 * else the first source (latching, for parties behind NAT).
 */
function acceptOf(
  session: Session,
  iface: ProxyInterface,
  own: PeerAddress | undefined,
  other: PeerAddress | undefined,
): PinholeAccept {
  if (other === undefined) return 'none';
  if (own === undefined) return 'any';
  return session.early.length > 1 && session.answerSide === iface.name ? 'peer' : 'any';
}

function summarize(
  session: Session,
  streams: readonly Stream[],
  counters: ReadonlyMap<string, PinholeCounters>,
): Omit<MediaSessionSummary, 'mos'> {
  // "In" is what the outside side's party sent towards the inside; a is the first SDP's sender.
  const aIsOutside = session.sides[0].role === 'outside';
  let packetsIn = 0;
  let bytesIn = 0;
  let packetsOut = 0;
  let bytesOut = 0;
  let oneWay = 0;
  let dropped = 0;
  for (const st of streams) {
    const rtp = counters.get(pinholeId(session, st, 'rtp'));
    if (rtp === undefined) continue;
    const inbound = aIsOutside ? rtp.aToB : rtp.bToA;
    const outbound = aIsOutside ? rtp.bToA : rtp.aToB;
    packetsIn += inbound.packets;
    bytesIn += inbound.bytes;
    packetsOut += outbound.packets;
    bytesOut += outbound.bytes;
    dropped += rtp.dropped;
    if ((inbound.packets === 0) !== (outbound.packets === 0)) oneWay++;
  }
  return {
    callId: session.callId,
    packetsIn,
    bytesIn,
    packetsOut,
    bytesOut,
    oneWayStreams: oneWay,
    droppedFromStrangers: dropped,
  };
}
