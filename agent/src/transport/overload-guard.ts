/**
 * Load shedding before the parse (RFC 3261 §21.5.4, RFC 7339 §1's "reject early and cheaply"):
 * when the event loop has been saturated, part of the *new* requests get a stateless 503 +
 * Retry-After built from a scan of their raw bytes, so every datagram is read and answered while
 * the kernel's receive queue stays short. A full queue is what collapses a server: answers come
 * later than the client's retransmission timer (T1 = 500 ms), each retransmission is one more
 * request, and the work done for the first copy is wasted.
 *
 * What is never shed here: responses, ACK, CANCEL, requests inside a dialog (To tag, §12.2) and
 * retransmissions of transactions the agent already has (§17.2.3 match on the top Via): those
 * finish work already paid for. New requests with credentials (the second leg of a digest
 * challenge) are shed only once every new request without them is.
 *
 * The measure is the event loop's utilization (the share of a window it did not wait in the
 * poll phase): with a backlog in the socket the poll never waits, so a utilization near 1 means
 * arrivals outrun the loop. The event loop's *lag* is not used: libuv reads at most 32 datagrams
 * per socket per turn, so turns stay short (a few ms) however deep the kernel queue is.
 * Admission is AIMD on the share of new requests let through: ×`decrease` per saturated window
 * (after `saturatedWindows` in a row), +`increase` per window below `low`.
 */
import { performance } from 'node:perf_hooks';
import type { RequestHead } from '../sip/head-scan.js';

/** How an inbound request stands when load is shed, from its scan. */
export type InboundClass = 'keep' | 'fresh' | 'fresh-credentials';

/** The transaction table, as far as the guard needs it (the transaction layer implements it). */
export interface ServerTransactionIndex {
  /** Would a request with this top Via and method match a server transaction the agent holds? */
  hasServerTransaction(
    via: Pick<RequestHead, 'transport' | 'host' | 'port' | 'branch'>,
    method: string,
  ): boolean;
}

/** RFC 3261 §8.1.1.7 magic cookie: only such branches can be matched from the scan. */
const COOKIE = 'z9hG4bK';

/**
 * The class of a scanned request (pure). ACK and CANCEL never get a 503 (§9.2, §17.1.1.3: they
 * end work); a To tag means an established dialog; a branch the index knows is a retransmission.
 */
export function classify(head: RequestHead, index: ServerTransactionIndex | undefined): InboundClass {
  if (head.method === 'ACK' || head.method === 'CANCEL' || head.toTag) return 'keep';
  if (
    index !== undefined &&
    head.branch?.startsWith(COOKIE) === true &&
    index.hasServerTransaction(head, head.method)
  )
    return 'keep';
  return head.credentials ? 'fresh-credentials' : 'fresh';
}

/** Shares of new requests let through (1 = all), per class. */
export interface Admission {
  readonly fresh: number;
  readonly credentials: number;
}

/**
 * Shed this request? (pure) `credit` carries the admitted share between calls so the requests let
 * through are spread evenly (every 4th at 0.25), not in runs; the new credit is returned.
 */
export function shedDecision(
  cls: InboundClass,
  admission: Admission,
  credit: number,
): { readonly shed: boolean; readonly credit: number } {
  if (cls === 'keep') return { shed: false, credit };
  const share = cls === 'fresh' ? admission.fresh : admission.credentials;
  if (share >= 1) return { shed: false, credit };
  const next = credit + share;
  return next >= 1 ? { shed: false, credit: next - 1 } : { shed: true, credit: next };
}

export interface OverloadSettings {
  /** Length of one measuring window. */
  readonly windowMs: number;
  /** Utilization at or above which a window is saturated. */
  readonly high: number;
  /** Utilization below which admission grows again. */
  readonly low: number;
  /** Saturated windows in a row before the first cut (a single GC pause is not overload). */
  readonly saturatedWindows: number;
  /** Multiplicative cut of the admitted share per saturated window. */
  readonly decrease: number;
  /** Additive growth of the admitted share per window below `low`. */
  readonly increase: number;
  /** Retry-After of the 503 (RFC 3261 §20.33), seconds. */
  readonly retryAfterSec: number;
}

export const DEFAULT_OVERLOAD_SETTINGS: OverloadSettings = {
  windowMs: 50,
  high: 0.97,
  low: 0.9,
  // 20 × 50 ms = 2·T1 (1 s): a stall the clients' retransmissions ride out (a major GC, a burst,
  // a fresh process compiling: up to ~0.4 s measured at 2,200 calls/s) is absorbed, not answered
  // with 503s; a real overload has a backlog second after second.
  saturatedWindows: 20,
  decrease: 0.85,
  increase: 0.05,
  retryAfterSec: 5,
};

/** Below this share a class is shed whole (a multiplicative cut never reaches 0). */
const FLOOR = 0.01;

/**
 * AIMD on the admitted shares (pure state machine, fed one measured window at a time): new
 * requests without credentials are cut first; only when they are all shed does the share of
 * those with credentials fall. Growth goes the other way round.
 */
export class AdmissionController implements Admission {
  fresh = 1;
  credentials = 1;
  private streak = 0;

  constructor(private readonly s: OverloadSettings) {}

  /** True while any new request may be shed. */
  get shedding(): boolean {
    return this.fresh < 1 || this.credentials < 1;
  }

  /**
   * One measurement: `busy` is the utilization over `windows` windows (more than one when no
   * message came for a while: the loop was idle, growth is owed for each).
   */
  update(busy: number, windows = 1): void {
    if (busy >= this.s.high) {
      this.streak++;
      if (this.streak < this.s.saturatedWindows && !this.shedding) return;
      if (this.fresh > 0) {
        this.fresh *= this.s.decrease;
        if (this.fresh < FLOOR) this.fresh = 0;
      } else {
        this.credentials *= this.s.decrease;
        if (this.credentials < FLOOR) this.credentials = 0;
      }
      return;
    }
    this.streak = 0;
    if (busy >= this.s.low) return;
    let grow = this.s.increase * Math.max(1, windows);
    if (this.credentials < 1) {
      const used = Math.min(grow, 1 - this.credentials);
      this.credentials += used;
      grow -= used;
    }
    this.fresh = Math.min(1, this.fresh + grow);
  }
}

/** How loaded the agent is (`performance.eventLoopUtilization`, and a backlog signal). */
export interface LoadMeter {
  /** The busy share of the event loop since the previous call. */
  busySinceLastCall(): number;
  /** A message arrived from `source` (a socket or listener). */
  arrived?(source: object): void;
  /**
   * Whether some source had a backlog since the previous call. A meter without it is believed on
   * utilization alone; with it, a busy loop without a backlog is not overload: on a shared CPU the
   * loop also reads as busy while it merely waits for the processor, and then every message is
   * still answered in time.
   */
  backlogSinceLastCall?(): boolean;
}

/**
 * libuv reads at most this many datagrams from one socket per event-loop turn; a turn that
 * delivers this many from one source found more waiting in the kernel.
 */
export const DATAGRAMS_PER_TURN = 32;

export function eventLoopMeter(): LoadMeter {
  let last = performance.eventLoopUtilization();
  const perTurn = new Map<object, number>();
  let resetScheduled = false;
  let turnFull = false;
  let turns = 0;
  let fullTurns = 0;
  const endOfTurn = () => {
    if (perTurn.size > 0) {
      turns++;
      if (turnFull) fullTurns++;
    }
    perTurn.clear();
    turnFull = false;
    resetScheduled = false;
  };
  return {
    busySinceLastCall() {
      const now = performance.eventLoopUtilization();
      const delta = performance.eventLoopUtilization(now, last);
      last = now;
      return delta.utilization;
    },
    arrived(source) {
      const n = (perTurn.get(source) ?? 0) + 1;
      perTurn.set(source, n);
      if (n >= DATAGRAMS_PER_TURN) turnFull = true;
      if (!resetScheduled) {
        resetScheduled = true;
        // Reads happen in the poll phase; setImmediate runs right after it: one turn's count.
        setImmediate(endOfTurn);
      }
    },
    /**
     * A backlog that persists: at least half the turns since the last call (the current one
     * included) read a full batch from some source. A single full turn after a GC pause or a
     * burst drains at once and is not a backlog.
     */
    backlogSinceLastCall() {
      const all = turns + (perTurn.size > 0 ? 1 : 0);
      const full = fullTurns + (turnFull ? 1 : 0);
      turns = 0;
      fullTurns = 0;
      turnFull = false;
      perTurn.clear();
      return all > 0 && 2 * full >= all;
    },
  };
}

/** What was shed, for `/metrics`. */
export interface OverloadCounters {
  /** New requests without credentials answered 503 before parsing. */
  shedFresh: number;
  /** New requests with credentials answered 503 before parsing. */
  shedCredentials: number;
}

/**
 * The measuring clock, the controller and the decision together: the transport layer calls
 * {@link check} for each inbound message (one clock read while the agent is not overloaded) and
 * {@link admit} for each scanned request while it is.
 */
export class OverloadGuard {
  readonly controller: AdmissionController;
  readonly counters: OverloadCounters = { shedFresh: 0, shedCredentials: 0 };
  private credit = 0;
  private windowStart: number;

  constructor(
    readonly settings: OverloadSettings,
    private readonly meter: LoadMeter,
    private readonly now: () => number,
  ) {
    this.controller = new AdmissionController(settings);
    this.windowStart = now();
    meter.busySinceLastCall();
  }

  /**
   * Notes a message from `source` and measures when a window has passed; true while new requests
   * may be shed.
   */
  check(source: object = this): boolean {
    this.meter.arrived?.(source);
    const t = this.now();
    const elapsed = t - this.windowStart;
    if (elapsed >= this.settings.windowMs) {
      this.windowStart = t;
      let busy = this.meter.busySinceLastCall();
      // Busy without a backlog: waiting for the CPU, not falling behind — not a saturated window.
      if (this.meter.backlogSinceLastCall?.() === false) busy = Math.min(busy, this.settings.low - 0.01);
      this.controller.update(busy, Math.floor(elapsed / this.settings.windowMs));
    }
    return this.controller.shedding;
  }

  /** Lets `cls` through, or counts it as shed (the caller answers 503). */
  admit(cls: InboundClass): boolean {
    const d = shedDecision(cls, this.controller, this.credit);
    this.credit = d.credit;
    if (!d.shed) return true;
    if (cls === 'fresh') this.counters.shedFresh++;
    else this.counters.shedCredentials++;
    return false;
  }
}

/** The guard as the agent runs it: event-loop utilization, `performance.now()`. */
export function createOverloadGuard(settings: Partial<OverloadSettings> = {}): OverloadGuard {
  return new OverloadGuard({ ...DEFAULT_OVERLOAD_SETTINGS, ...settings }, eventLoopMeter(), () =>
    performance.now(),
  );
}
