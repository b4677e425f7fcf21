import { err, ok, type Result } from '@sipwall/shared';
import type { Clock } from '../util/clock.js';

/** The local ports of one stream on one side: RTP on an even port, RTCP on the next (RFC 3550 §11). */
export interface PortPair {
  /** The allocator's local address: with `rtp`, the endpoint the SDP rewrite advertises. */
  readonly address: string;
  readonly rtp: number;
  readonly rtcp: number;
}

export interface PortAllocatorOptions {
  /** The interface address whose ports this instance hands out (one allocator per interface). */
  readonly address: string;
  /** The media range, inclusive (`media.portMin`/`media.portMax` of the agent config). */
  readonly portMin: number;
  readonly portMax: number;
  /**
   * A released pair is not handed out again before this many milliseconds, so that media still
   * sent to it by the previous call's parties cannot be latched by the next call. Default
   * {@link DEFAULT_PORT_QUARANTINE_MS}.
   */
  readonly quarantineMs?: number;
}

/** Where randomness comes from: `util/random-pool.ts`'s `RandomPool` fits; tests pin the bytes. */
export interface RandomBytes {
  bytes(size: number): Uint8Array;
}

export interface PortAllocatorDeps {
  readonly clock: Pick<Clock, 'now'>;
  readonly random: RandomBytes;
}

/**
 * 64 × T1 (RFC 3261 §17.1.2.2, Timer F): the longest a BYE can stay unanswered, so a party may keep
 * sending media that long after the agent closed the call.
 */
export const DEFAULT_PORT_QUARANTINE_MS = 32_000;

/** Every pair is in use or in quarantine: the caller answers 503 (RFC 3261 §21.5.4). */
export interface PortsExhausted {
  readonly reason: 'exhausted';
  readonly inUse: number;
  readonly quarantined: number;
  /** True for the first failure since the last successful allocation: log this one, count the rest. */
  readonly first: boolean;
}

export type ReserveOutcome = 'reserved' | 'already-in-use' | 'out-of-range';

const FREE = 0;
const IN_USE = 1;
const QUARANTINED = 2;

/**
 * Whether a media range holds at least one even/odd port pair (pure): its first even port and how
 * many pairs fit, or why it cannot be used (also what a pushed range is checked with).
 */
export function checkPortRange(
  portMin: number,
  portMax: number,
): Result<{ readonly base: number; readonly capacity: number }, string> {
  const valid = (p: number) => Number.isInteger(p) && p >= 1 && p <= 65_535;
  if (!valid(portMin) || !valid(portMax) || portMin > portMax)
    return err(`bad media port range ${portMin}–${portMax}`);
  const base = portMin % 2 === 0 ? portMin : portMin + 1;
  const capacity = Math.max(0, Math.floor((portMax - base + 1) / 2));
  if (capacity === 0) return err(`no even/odd port pair in ${portMin}–${portMax}`);
  return ok({ base, capacity });
}

/**
 * RTP/RTCP port pairs of one local address, from a configured range. Allocation picks a free pair
 * uniformly at random (an injected random source), so a call's ports do not tell the next call's;
 * allocate, release and reserve are O(1) (amortised: quarantine ends are processed in release
 * order). Time comes from the injected clock.
 *
 * @example
 * const ports = new PortAllocator({ address: '203.0.113.10', portMin: 20000, portMax: 29999 }, { clock, random });
 * const pair = ports.allocate();
 * if (!pair.ok) return reply503(pair.error.first);
 * // … when the stream closes:
 * ports.release(pair.value.rtp);
 */
export class PortAllocator {
  readonly address: string;
  /** How many pairs the range holds. */
  readonly capacity: number;
  private readonly base: number;
  private readonly quarantineMs: number;
  private readonly state: Uint8Array;
  /** Free pair indices in `free[0 .. freeCount)`; `freeSlot[pair]` is where a free pair sits. */
  private readonly freeList: Int32Array;
  private readonly freeSlot: Int32Array;
  private freeCount: number;
  /** When each quarantined pair may be handed out again. */
  private readonly dueAt: Float64Array;
  private readonly quarantine = new QuarantineQueue();
  private quarantinedCount = 0;
  private exhausted = false;

  constructor(
    options: PortAllocatorOptions,
    private readonly deps: PortAllocatorDeps,
  ) {
    const range = checkPortRange(options.portMin, options.portMax);
    if (!range.ok) throw new RangeError(range.error);
    this.base = range.value.base;
    this.capacity = range.value.capacity;
    this.address = options.address;
    this.quarantineMs = options.quarantineMs ?? DEFAULT_PORT_QUARANTINE_MS;
    if (!(this.quarantineMs >= 0 && Number.isFinite(this.quarantineMs)))
      throw new RangeError(`bad port quarantine ${this.quarantineMs} ms`);
    this.state = new Uint8Array(this.capacity);
    this.freeList = new Int32Array(this.capacity);
    this.freeSlot = new Int32Array(this.capacity);
    this.dueAt = new Float64Array(this.capacity);
    for (let pair = 0; pair < this.capacity; pair++) {
      this.freeList[pair] = pair;
      this.freeSlot[pair] = pair;
    }
    this.freeCount = this.capacity;
  }

  /** Pairs handed out or reserved. */
  get inUse(): number {
    return this.capacity - this.freeCount - this.quarantinedCount;
  }

  /** Pairs that can be allocated now. */
  get free(): number {
    this.endQuarantines();
    return this.freeCount;
  }

  /** Pairs released less than the quarantine ago. */
  get quarantined(): number {
    this.endQuarantines();
    return this.quarantinedCount;
  }

  /** A free pair picked at random, now in use; or `exhausted`. */
  allocate(): Result<PortPair, PortsExhausted> {
    this.endQuarantines();
    if (this.freeCount === 0) {
      const first = !this.exhausted;
      this.exhausted = true;
      return err({ reason: 'exhausted', inUse: this.inUse, quarantined: this.quarantinedCount, first });
    }
    this.exhausted = false;
    const pair = this.freeList[this.randomBelow(this.freeCount)]!;
    this.removeFree(pair);
    this.state[pair] = IN_USE;
    const rtp = this.base + 2 * pair;
    return ok({ address: this.address, rtp, rtcp: rtp + 1 });
  }

  /**
   * Gives back the pair whose RTP port is `rtp`; it is free again once the quarantine has passed.
   * False (and nothing changes) when `rtp` is not the RTP port of a pair in use: a double release.
   */
  release(rtp: number): boolean {
    const pair = this.pairOf(rtp);
    if (pair === undefined || rtp % 2 !== 0 || this.state[pair] !== IN_USE) return false;
    const due = this.deps.clock.now() + this.quarantineMs;
    this.state[pair] = QUARANTINED;
    this.dueAt[pair] = due;
    this.quarantinedCount++;
    this.quarantine.push(pair, due);
    return true;
  }

  /**
   * Marks the pair holding `port` (its RTP or its RTCP port) in use without allocating it: at start,
   * for every pinhole found in the kernel and kept. Release it like an allocated pair.
   */
  reserve(port: number): ReserveOutcome {
    const pair = this.pairOf(port);
    if (pair === undefined) return 'out-of-range';
    const state = this.state[pair];
    if (state === IN_USE) return 'already-in-use';
    if (state === FREE) this.removeFree(pair);
    else this.quarantinedCount--; // its queue entry is skipped when it comes due
    this.state[pair] = IN_USE;
    return 'reserved';
  }

  /**
   * This address's allocator over another range (a pushed `media.portMin/portMax`): pairs in use
   * here that fall in the new range stay in use there (a live call keeps its ports and releases
   * them normally), so new calls never get a port a live call holds. O(capacity), per change.
   */
  withRange(options: Omit<PortAllocatorOptions, 'address'>): PortAllocator {
    const next = new PortAllocator({ ...options, address: this.address }, this.deps);
    for (let pair = 0; pair < this.capacity; pair++)
      if (this.state[pair] === IN_USE) next.reserve(this.base + 2 * pair);
    return next;
  }

  /** Whether `port` (RTP or RTCP) belongs to a pair in use. */
  isInUse(port: number): boolean {
    const pair = this.pairOf(port);
    return pair !== undefined && this.state[pair] === IN_USE;
  }

  private pairOf(port: number): number | undefined {
    if (!Number.isInteger(port) || port < this.base) return undefined;
    const pair = Math.floor((port - this.base) / 2);
    return pair < this.capacity ? pair : undefined;
  }

  private removeFree(pair: number): void {
    const slot = this.freeSlot[pair]!;
    const last = this.freeList[--this.freeCount]!;
    this.freeList[slot] = last;
    this.freeSlot[last] = slot;
  }

  private addFree(pair: number): void {
    this.freeList[this.freeCount] = pair;
    this.freeSlot[pair] = this.freeCount++;
    this.state[pair] = FREE;
  }

  /** Quarantines end in release order (one fixed duration), so only the queue's head is looked at. */
  private endQuarantines(): void {
    const now = this.deps.clock.now();
    for (let entry = this.quarantine.peek(); entry !== undefined && entry.due <= now; ) {
      this.quarantine.shift();
      // A pair reserved meanwhile (and perhaps released again) has moved on: skip its old entry.
      if (this.state[entry.pair] === QUARANTINED && this.dueAt[entry.pair] === entry.due) {
        this.quarantinedCount--;
        this.addFree(entry.pair);
      }
      entry = this.quarantine.peek();
    }
  }

  /** Uniform in [0, n): 32 random bits, rejecting the top values that would bias the modulo. */
  private randomBelow(n: number): number {
    const limit = Math.floor(0x1_0000_0000 / n) * n;
    for (;;) {
      const b = this.deps.random.bytes(4);
      const v = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
      if (v < limit) return v % n;
    }
  }
}

/** FIFO of (pair, due) in a ring that doubles when full. */
class QuarantineQueue {
  private pairs = new Int32Array(16);
  private dues = new Float64Array(16);
  private head = 0;
  private size = 0;

  push(pair: number, due: number): void {
    if (this.size === this.pairs.length) this.grow();
    const at = (this.head + this.size) % this.pairs.length;
    this.pairs[at] = pair;
    this.dues[at] = due;
    this.size++;
  }

  peek(): { pair: number; due: number } | undefined {
    return this.size === 0 ? undefined : { pair: this.pairs[this.head]!, due: this.dues[this.head]! };
  }

  shift(): void {
    this.head = (this.head + 1) % this.pairs.length;
    this.size--;
  }

  private grow(): void {
    const pairs = new Int32Array(this.pairs.length * 2);
    const dues = new Float64Array(this.pairs.length * 2);
    for (let i = 0; i < this.size; i++) {
      const from = (this.head + i) % this.pairs.length;
      pairs[i] = this.pairs[from]!;
      dues[i] = this.dues[from]!;
    }
    this.pairs = pairs;
    this.dues = dues;
    this.head = 0;
  }
}
