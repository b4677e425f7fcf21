/**
 * The kernel pinhole driver: media is NATed and filtered by nftables and never enters user space.
 * The objects and the packet path are in `nft-ruleset.ts` and `../README.md` ("Kernel driver").
 *
 * The opens and closes of one event-loop turn are one batch, that is one kernel transaction,
 * through the native binding `@sipwall/nftables-napi`: set element adds and deletes sent as
 * nf_tables netlink messages by the binding itself (`setElements`, the fast path: the keys are
 * encoded in `nft-elements.ts`), or as nft text through libnftables when the binding predates it
 * (or `SIPWALL_NFT_FASTPATH=0`); the base ruleset, listings, counters and reconcile always go
 * through libnftables. `close` then deletes the flows' conntrack entries by exact tuple over
 * ctnetlink (one netlink round trip), and even before that the filter drops every packet of a flow
 * whose pinhole is gone, so media stops at once either way.
 *
 * `probeNftables()` says whether the driver can run here (addon built, CAP_NET_ADMIN, forwarding
 * on, the base ruleset accepted) and gives the driver, or the reason to use the relay driver.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ConntrackTuple, NftablesContext, SetElementOp } from '@sipwall/nftables-napi';
import type { Endpoint, PinholeCounters, PinholeDriver, PinholeSpec } from '../types.js';
import { addOp, deleteOp } from './nft-elements.js';
import {
  addLines,
  baseRuleset,
  canonicalAddress,
  deleteLines,
  type Element,
  elementIdentity,
  FAMILIES,
  type Family,
  familyOf,
  idComment,
  type ListedElement,
  NFT_MEDIA_TABLE,
  type PinholeRecord,
  parseListing,
  parts,
  pinholeElements,
  removeLines,
  replyTuples,
  userSpaceElements,
  SET,
  textOf,
} from './nft-ruleset.js';

export interface NftablesDriverOptions {
  /** The media port range (inclusive): every UDP packet to it is dropped unless a pinhole is live. */
  readonly portMin: number;
  readonly portMax: number;
  /**
   * The agent's media addresses (the local endpoints of pinholes). Packets to these addresses in
   * the port range are filtered. Default: every local address of the host.
   */
  readonly addresses?: readonly string[];
  /** The most pinholes at once (kernel set sizes). Default 65536. */
  readonly maxPinholes?: number;
  /** Priority of the prerouting filter chain (after conntrack at -200, before DNAT at -100). Default -160. */
  readonly priority?: number;
  /** A libnftables context to use; default: a new one from the addon. */
  readonly context?: NftablesContext;
  /** Told about failures that do not fail the call (a conntrack delete that failed). */
  readonly onWarning?: (message: string) => void;
  /**
   * Element adds and deletes through the binding's `setElements` (nf_tables netlink, no
   * libnftables) when it has it. Default: true unless the environment says `SIPWALL_NFT_FASTPATH=0`.
   */
  readonly fastPath?: boolean;
}

export interface NftablesDriver extends PinholeDriver {
  readonly kind: 'nftables';
  /** The pinhole number (its conntrack mark) of an id, for diagnostics. */
  numberOf(id: string): number | undefined;
  /**
   * The pinholes the driver holds, with their local endpoints: after `reconcile`, the kernel's live
   * pinholes it adopted, whose ports the session layer reserves.
   */
  openPinholes(): ReadonlyArray<{ readonly id: string; readonly a: Endpoint; readonly b: Endpoint }>;
  /**
   * Lets packets to these local endpoints through the media filter to user space (sockets of the
   * agent's own, e.g. the RTCP relay while RTP stays in the kernel), for `timeoutSec` unless
   * refreshed; one transaction.
   */
  allowUserSpace(endpoints: readonly Endpoint[], timeoutSec: number): void;
  /** Takes endpoints out of the user-space set again (present or not). */
  disallowUserSpace(endpoints: readonly Endpoint[]): void;
}

const EMPTY: PinholeCounters = { aToB: { packets: 0, bytes: 0 }, bToA: { packets: 0, bytes: 0 }, dropped: 0 };
const MAX_MARK = 0xffff_ffff;

/** Creates the driver: installs (or updates) the base ruleset in one transaction. Throws on failure. */
export function createNftablesDriver(opts: NftablesDriverOptions): NftablesDriver {
  if (
    !Number.isInteger(opts.portMin) ||
    !Number.isInteger(opts.portMax) ||
    opts.portMin < 1 ||
    opts.portMax > 65535 ||
    opts.portMin > opts.portMax
  ) {
    throw new Error(`bad media port range ${opts.portMin}-${opts.portMax}`);
  }
  const ctx = opts.context ?? newContext();
  const addresses = opts.addresses?.map(canonicalAddress);
  ctx.run(
    baseRuleset({
      portMin: opts.portMin,
      portMax: opts.portMax,
      addresses4: addresses?.filter((a) => !a.includes(':')),
      addresses6: addresses?.filter((a) => a.includes(':')),
      maxPinholes: opts.maxPinholes ?? 65536,
      priority: opts.priority ?? -160,
    }),
  );
  const fast =
    (opts.fastPath ?? process.env['SIPWALL_NFT_FASTPATH'] !== '0') && ctx.setElements !== undefined;
  return new KernelDriver(ctx, opts.onWarning ?? (() => {}), fast);
}

function newContext(): NftablesContext {
  const r = loadAddon();
  if (!r.ok) throw new Error(r.reason);
  return new r.Nftables();
}

type AddonLoad = ReturnType<typeof import('@sipwall/nftables-napi').loadNftables>;
let addon: AddonLoad | undefined;

function loadAddon(): AddonLoad {
  if (addon !== undefined) return addon;
  // The addon is an optional dependency: its absence is a reason, not a crash at import time.
  try {
    const req = createRequireSafe();
    const mod = req('@sipwall/nftables-napi') as typeof import('@sipwall/nftables-napi');
    addon = mod.loadNftables();
  } catch (e) {
    addon = {
      ok: false,
      reason: `nftables-napi not installed: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
  return addon;
}

function createRequireSafe(): (id: string) => unknown {
  // The package is ESM; require() of ESM works on Node ≥ 20.19 (synchronous graph, no top-level await).
  return createRequire(import.meta.url);
}

export type NftablesProbe =
  | { readonly ok: true; readonly driver: NftablesDriver }
  | { readonly ok: false; readonly reason: string };

/**
 * Whether the kernel driver can be used here, and the driver when it can: the addon is built and
 * loads, the process has CAP_NET_ADMIN, IP forwarding is on, and the base ruleset was accepted.
 * The agent says the reason once and uses the relay driver otherwise.
 */
export function probeNftables(opts: NftablesDriverOptions): NftablesProbe {
  if (opts.context === undefined) {
    const r = loadAddon();
    if (!r.ok) return { ok: false, reason: r.reason };
  }
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readText('/proc/self/status') ?? '')?.[1];
  if (capEff !== undefined && (BigInt(`0x${capEff}`) & (1n << 12n)) === 0n) {
    return { ok: false, reason: 'no privilege: the kernel media driver needs CAP_NET_ADMIN' };
  }
  const v4 = opts.addresses === undefined || opts.addresses.some((a) => !a.includes(':'));
  if (v4 && readText('/proc/sys/net/ipv4/ip_forward')?.trim() === '0') {
    return { ok: false, reason: 'IPv4 forwarding is off (sysctl net.ipv4.ip_forward=0)' };
  }
  try {
    return { ok: true, driver: createNftablesDriver(opts) };
  } catch (e) {
    return { ok: false, reason: `nftables: ${e instanceof Error ? e.message : String(e)}` };
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * A change of set elements: `add` (or refresh: a new timeout, counters kept), `delete` (fails when
 * one is not there), `remove` (whether there or not: added then deleted in the same transaction).
 */
type Change =
  | { readonly kind: 'add'; readonly elements: readonly Element[]; readonly timeoutSec: number }
  | { readonly kind: 'delete' | 'remove'; readonly elements: readonly Element[] };

/** The changes as nft text (libnftables). */
function scriptOf(changes: readonly Change[]): string {
  return changes
    .flatMap((c) =>
      c.kind === 'add'
        ? addLines(c.elements, c.timeoutSec)
        : c.kind === 'delete'
          ? deleteLines(c.elements)
          : removeLines(c.elements),
    )
    .join('\n');
}

/** The changes as the binding's netlink ops, in the same order as their text. */
function opsOf(changes: readonly Change[]): SetElementOp[] {
  return changes.flatMap((c) =>
    c.kind === 'add'
      ? c.elements.map((e) => addOp(e, c.timeoutSec))
      : c.kind === 'delete'
        ? c.elements.map(deleteOp)
        : [...c.elements.map((e) => addOp(e)), ...c.elements.map(deleteOp)],
  );
}

/** One open or close waiting for its batch (`KernelDriver.flushBatch`). */
interface BatchOp {
  readonly changes: readonly Change[];
  /** Applied when `changes` fail on their own. */
  readonly fallback?: readonly Change[];
  /** Conntrack entries to end once the script has been applied. */
  readonly conntrack: readonly ConntrackTuple[];
  /** Puts the driver's records back as they were before the operation (it failed). */
  readonly undo: () => void;
  readonly settle: (error?: unknown) => void;
}

/** Keys per `get element` command (see `KernelDriver.elements`). */
const GET_ELEMENT_BATCH = 32;

class KernelDriver implements NftablesDriver {
  readonly kind = 'nftables' as const;
  private readonly held = new Map<string, PinholeRecord>();
  private nextMark: number;
  private disposed = false;
  /** User-space admissions waiting for the next batch. */
  private pending: Change[] = [];
  /** The pinhole numbers of `held` (allocation without a scan of every held pinhole). */
  private readonly numbers = new Set<number>();
  /** Opens and closes of this event-loop turn, waiting to go to the kernel as one batch. */
  private batch: BatchOp[] = [];

  constructor(
    private readonly ctx: NftablesContext,
    private readonly warn: (message: string) => void,
    /** Element changes through `ctx.setElements` (see {@link KernelDriver.apply}). */
    private readonly fast: boolean,
  ) {
    // Numbers of pinholes left by an earlier run are not reused before reconcile decides on them.
    let max = 0;
    for (const e of this.list(SET.pin)) max = Math.max(max, Number(e.key) || 0);
    this.nextMark = max > 0 && max < MAX_MARK ? max + 1 : 1 + Math.floor(Math.random() * 0x7fff_0000);
  }

  numberOf(id: string): number | undefined {
    return this.held.get(id)?.n;
  }

  openPinholes(): ReadonlyArray<{ readonly id: string; readonly a: Endpoint; readonly b: Endpoint }> {
    return [...this.held.values()].map((r) => ({ id: r.id, a: r.aLocal, b: r.bLocal }));
  }

  /**
   * Queued, not run: the lines ride in the next `open`/`close` batch (a call's RTCP admission and
   * its RTP pinholes are one kernel transaction), or run on their own at the end of this turn.
   */
  allowUserSpace(endpoints: readonly Endpoint[], timeoutSec: number): void {
    this.check();
    if (endpoints.length === 0) return;
    this.queue({ kind: 'add', elements: userSpaceElements(endpoints), timeoutSec });
  }

  disallowUserSpace(endpoints: readonly Endpoint[]): void {
    this.check();
    if (endpoints.length === 0) return;
    this.queue({ kind: 'remove', elements: userSpaceElements(endpoints) });
  }

  private queue(change: Change): void {
    this.schedule();
    this.pending.push(change);
  }

  /** The queued user-space changes, taken for a batch. */
  private takePending(): Change[] {
    const changes = this.pending;
    this.pending = [];
    return changes;
  }

  /**
   * Opens and closes go to the kernel in batches: everything asked during one event-loop turn
   * (and the queued user-space changes) is one batch at the end of the turn, since a libnftables
   * run costs mostly its fixed part (parsing, the set cache, the netlink round trip): at hundreds
   * of calls per second one run per offer/answer kept the event loop busy for most of each second.
   * The driver's own records change at once (a later call sees them); the promise of each
   * operation settles when its batch has been run. When the batch fails, nothing of it was applied
   * (one kernel transaction): its operations are run again one by one, in order, so one bad
   * operation fails alone and its records are put back.
   */
  private schedule(): void {
    if (this.batch.length > 0 || this.pending.length > 0) return;
    setImmediate(() => this.flushBatch());
  }

  private submit(op: Omit<BatchOp, 'settle'>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.schedule();
      this.batch.push({ ...op, settle: (e) => (e === undefined ? resolve() : reject(e)) });
    });
  }

  /** Runs what is waiting (also called before any read of the kernel's state, and at dispose). */
  private flushBatch(): void {
    const ops = this.batch;
    this.batch = [];
    const pending = this.takePending();
    if (ops.length === 0 && pending.length === 0) return;
    if (this.disposed) {
      for (const op of ops) op.settle(new Error('nftables driver disposed'));
      return;
    }
    try {
      this.apply([...pending, ...ops.flatMap((o) => o.changes)]);
      for (const op of ops) this.done(op);
      return;
    } catch (e) {
      if (ops.length === 0) {
        this.admissionFailed(e);
        return;
      }
    }
    if (pending.length > 0) {
      try {
        this.apply(pending);
      } catch (e) {
        this.admissionFailed(e);
      }
    }
    for (const op of ops) {
      let error: unknown;
      try {
        this.apply(op.changes);
      } catch (e) {
        error = e;
        if (op.fallback !== undefined) {
          try {
            this.apply(op.fallback);
            error = undefined;
          } catch (e2) {
            error = e2;
          }
        }
      }
      if (error === undefined) this.done(op);
      else {
        op.undo();
        op.settle(error);
      }
    }
  }

  private admissionFailed(e: unknown): void {
    this.warn(`user-space admission failed: ${e instanceof Error ? e.message : String(e)}`);
  }

  private done(op: BatchOp): void {
    if (op.conntrack.length > 0) this.deleteConntrack(op.conntrack);
    op.settle(undefined);
  }

  private hold(rec: PinholeRecord): void {
    const old = this.held.get(rec.id);
    if (old !== undefined && old.n !== rec.n) this.numbers.delete(old.n);
    this.held.set(rec.id, rec);
    this.numbers.add(rec.n);
  }

  private forget(id: string): void {
    const old = this.held.get(id);
    if (old === undefined) return;
    this.held.delete(id);
    this.numbers.delete(old.n);
  }

  async open(pinholes: readonly PinholeSpec[]): Promise<void> {
    this.check();
    if (pinholes.length === 0) return;
    const seen = new Set<string>();
    const removes: Element[] = [];
    const adds: Change[] = [];
    const flush: ConntrackTuple[] = [];
    const next = new Map<string, PinholeRecord>();
    const used = new Set<number>();
    for (const p of pinholes) {
      if (seen.has(p.id)) throw new Error(`pinhole ${p.id} given twice`);
      seen.add(p.id);
      const family = familyOf(p);
      const old = this.held.get(p.id);
      const n = old !== undefined && old.family === family ? old.n : this.allocate(used);
      used.add(n);
      const rec: PinholeRecord = {
        id: p.id,
        n,
        family,
        aLocal: p.a.local,
        aPeer: p.a.peer,
        bLocal: p.b.local,
        bPeer: p.b.peer,
        ...(p.a.accept === undefined ? {} : { aAccept: p.a.accept }),
        ...(p.b.accept === undefined ? {} : { bAccept: p.b.accept }),
      };
      const elements = pinholeElements(rec);
      if (old !== undefined) {
        // A refresh: the elements that change go first (a new peer: a new DNAT target), and the
        // flows on the old endpoints are ended.
        const keep = new Set(elements.map(elementIdentity));
        const gone = pinholeElements(old).filter((e) => !keep.has(elementIdentity(e)));
        // A side newly pinned (or closed): a flow latched from another source must end too.
        const narrowed =
          (old.aAccept ?? 'any') !== (rec.aAccept ?? 'any') ||
          (old.bAccept ?? 'any') !== (rec.bAccept ?? 'any');
        if (gone.length > 0) removes.push(...gone);
        if (gone.length > 0 || narrowed) flush.push(...replyTuples(old));
        if (old.n !== n) removes.push({ set: SET.busy, key: String(old.n) });
      }
      adds.push({ kind: 'add', elements, timeoutSec: p.timeoutSec });
      next.set(p.id, rec);
    }
    const before = new Map([...next.keys()].map((id) => [id, this.held.get(id)] as const));
    for (const rec of next.values()) this.hold(rec);
    return this.submit({
      changes: [{ kind: 'remove', elements: removes }, ...adds],
      conntrack: flush,
      undo: () => {
        for (const [id, old] of before) {
          if (this.held.get(id) !== next.get(id)) continue; // changed again since: that stands
          if (old === undefined) this.forget(id);
          else this.hold(old);
        }
      },
    });
  }

  async close(ids: readonly string[]): Promise<void> {
    this.check();
    const recs = [...new Set(ids)].map((id) => this.held.get(id)).filter((r) => r !== undefined);
    if (recs.length === 0) return;
    const elements = recs.flatMap(pinholeElements);
    // The packet path adds a pinhole's busy element with its first flow: maybe there, maybe not.
    const busy: Change = { kind: 'remove', elements: recs.map((r) => ({ set: SET.busy, key: String(r.n) })) };
    for (const r of recs) this.forget(r.id);
    return this.submit({
      // Usually every element is there: plain deletes (half the work of add-then-delete)…
      changes: [{ kind: 'delete', elements }, busy],
      // … and when one expired (the safety net) since it was opened: delete whatever is left.
      fallback: [{ kind: 'remove', elements }, busy],
      conntrack: recs.flatMap(replyTuples),
      undo: () => {
        for (const r of recs) if (!this.held.has(r.id)) this.hold(r);
      },
    });
  }

  async counters(ids: readonly string[]): Promise<ReadonlyMap<string, PinholeCounters>> {
    this.check();
    this.flushBatch();
    const out = new Map<string, PinholeCounters>();
    const recs = ids.map((id) => this.held.get(id)).filter((r) => r !== undefined);
    if (recs.length === 0) return out;
    const dropped = new Map<number, number>();
    for (const e of this.elements(
      SET.pin,
      recs.map((r) => String(r.n)),
    ))
      dropped.set(Number(e.key), e.counter?.packets ?? 0);
    const fwd = new Map<string, { packets: number; bytes: number }>();
    for (const f of new Set(recs.map((r) => r.family))) {
      const keys = recs
        .filter((r) => r.family === f)
        .flatMap((r) =>
          [r.aLocal, r.bLocal].map((l) => `${r.n} . ${canonicalAddress(l.address)} . ${l.port}`),
        );
      for (const e of this.elements(SET.fwd(f), keys)) {
        if (e.counter !== undefined) fwd.set(textOf(e.key), e.counter);
      }
    }
    for (const r of recs) {
      if (!dropped.has(r.n)) continue; // expired in the kernel (the safety net)
      const key = (l: { address: string; port: number }) =>
        `${r.n} . ${canonicalAddress(l.address)} . ${l.port}`;
      const a = fwd.get(key(r.aLocal));
      const b = fwd.get(key(r.bLocal));
      out.set(r.id, {
        aToB: { packets: a?.packets ?? 0, bytes: a?.bytes ?? 0 },
        bToA: { packets: b?.packets ?? 0, bytes: b?.bytes ?? 0 },
        dropped: dropped.get(r.n) ?? EMPTY.dropped,
      });
    }
    return out;
  }

  async reconcile(live: ReadonlySet<string>): Promise<number> {
    this.check();
    this.flushBatch();
    // Nothing live (start, stop): user-space admissions of an earlier run are stale too.
    if (live.size === 0)
      this.run(FAMILIES.map((f) => `flush set ${NFT_MEDIA_TABLE} ${SET.user(f)}`).join('\n'));
    const liveByComment = new Map<string, string>();
    for (const id of live) liveByComment.set(idComment(id), id);
    // What the kernel holds, grouped by pinhole number.
    const pins = new Map<number, string | undefined>();
    for (const e of this.list(SET.pin)) pins.set(Number(e.key), e.comment);
    const keep = new Set<number>();
    for (const [n, comment] of pins) if (comment !== undefined && liveByComment.has(comment)) keep.add(n);
    const stray = [...pins.keys()].filter((n) => !keep.has(n));

    const removes: Element[] = [];
    const flush: ConntrackTuple[] = [];
    const adopted = new Map<number, Adopted>();
    for (const f of FAMILIES) {
      const numberOf = new Map<string, number>(); // local endpoint → n
      for (const e of this.list(SET.id(f))) {
        const n = Number(e.value);
        const key = textOf(e.key);
        numberOf.set(key, n);
        if (!keep.has(n)) removes.push({ set: SET.id(f), key, value: String(n) });
      }
      const dnat = new Map<string, string>(); // local endpoint → the other side's peer
      for (const e of this.list(SET.dnat(f))) {
        const key = textOf(e.key);
        const n = numberOf.get(key);
        dnat.set(key, textOf(e.value));
        if (n === undefined || !keep.has(n)) removes.push({ set: SET.dnat(f), key, value: textOf(e.value) });
      }
      for (const e of this.list(SET.fwd(f))) {
        const [n, addr, port] = parts(e.key);
        if (!keep.has(Number(n))) {
          removes.push({ set: SET.fwd(f), key: textOf(e.key) });
          continue;
        }
        // Adopt what stays (the element's comment says its side), so that open() refreshes it in
        // place, close() finds it and counters() reads it.
        const local = `${addr} . ${port}`;
        const entry = adopted.get(Number(n)) ?? { family: f };
        const peerOfOther = dnat.get(local);
        if (e.comment === 'a') {
          entry.aLocal = local;
          if (peerOfOther !== undefined) entry.bPeer = peerOfOther;
        } else if (e.comment === 'b') {
          entry.bLocal = local;
          if (peerOfOther !== undefined) entry.aPeer = peerOfOther;
        }
        adopted.set(Number(n), entry);
      }
      for (const e of this.list(SET.snat(f))) {
        const [n, peerAddr, peerPort] = parts(e.key);
        if (keep.has(Number(n))) continue;
        removes.push({ set: SET.snat(f), key: textOf(e.key), value: textOf(e.value) });
        // The flow whose replies come from this peer to this local endpoint.
        const [la, lp] = parts(e.value);
        flush.push([f, String(peerAddr), Number(peerPort), String(la), Number(lp), 1]);
      }
    }
    for (const f of FAMILIES) {
      for (const set of [SET.pinned(f), SET.src(f)]) {
        for (const e of this.list(set)) {
          const [n] = parts(e.key);
          if (!keep.has(Number(n))) removes.push({ set, key: textOf(e.key) });
        }
      }
    }
    for (const n of stray) removes.push({ set: SET.pin, key: String(n) });
    for (const e of this.list(SET.busy)) {
      const n = Number(e.key);
      if (!keep.has(n)) removes.push({ set: SET.busy, key: String(n) });
    }
    if (removes.length > 0) this.run(removeLines(removes).join('\n'));
    this.deleteConntrack(flush);

    // Forget what is no longer live; adopt the kernel's live pinholes this run does not know yet.
    for (const [id, rec] of this.held) if (!keep.has(rec.n) || !live.has(id)) this.forget(id);
    for (const n of keep) {
      const id = liveByComment.get(pins.get(n) ?? '');
      if (id === undefined || this.held.has(id)) continue;
      const rec = adoptedRecord(id, n, adopted.get(n));
      if (rec !== undefined) this.hold(rec);
    }
    return stray.length;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.flushBatch();
    this.disposed = true;
    this.held.clear();
    this.numbers.clear();
    this.ctx.close();
  }

  private check(): void {
    if (this.disposed) throw new Error('nftables driver disposed');
  }

  private allocate(used: ReadonlySet<number>): number {
    for (;;) {
      const n = this.nextMark;
      this.nextMark = n >= MAX_MARK ? 1 : n + 1;
      if (!this.numbers.has(n) && !used.has(n)) return n;
    }
  }

  /**
   * The given elements of a set with their counters: `get element` for just those keys (a call's
   * few, not the whole set: listing every live pinhole per call would cost O(calls)); the whole
   * listing when one of them is gone (expired), which makes `get element` fail.
   */
  /**
   * The listed elements of `keys`, asked in commands of at most {@link GET_ELEMENT_BATCH} keys:
   * libnftables 1.0.6 crashed the process (SIGSEGV) on one `get element` naming the pinholes of
   * 200 calls (bench/media), which `/sessions` and the control plane's live calls ask for.
   */
  private elements(set: string, keys: readonly string[]): ListedElement[] {
    const out: ListedElement[] = [];
    for (let i = 0; i < keys.length; i += GET_ELEMENT_BATCH) {
      const chunk = keys.slice(i, i + GET_ELEMENT_BATCH);
      try {
        out.push(...parseListing(this.run(`get element ${NFT_MEDIA_TABLE} ${set} { ${chunk.join(', ')} }`)));
      } catch {
        return this.list(set);
      }
    }
    return out;
  }

  /**
   * Element changes as one kernel transaction: through the binding's netlink fast path, or as nft
   * text through libnftables. Nothing to change: nothing sent.
   */
  private apply(changes: readonly Change[]): void {
    const live = changes.filter((c) => c.elements.length > 0);
    if (live.length === 0) return;
    if (this.fast) this.ctx.setElements!(opsOf(live));
    else this.run(scriptOf(live));
  }

  /**
   * One batch through libnftables. A signal can interrupt its netlink exchange (EINTR; the
   * profiler's SIGPROF does, and so can any signal the process handles): the batch is run again —
   * every batch the driver makes can run twice (adds refresh, deletes of a vanished element fall
   * back to remove-if-present).
   */
  private run(script: string): string {
    for (let attempt = 1; ; attempt++) {
      try {
        return this.ctx.run(script);
      } catch (e) {
        if (attempt >= 3 || !(e instanceof Error) || !/Interrupted system call/.test(e.message)) throw e;
      }
    }
  }

  private list(set: string): ListedElement[] {
    const kind = set.startsWith('media_id') || set.includes('nat') ? 'map' : 'set';
    return parseListing(this.run(`list ${kind} ${NFT_MEDIA_TABLE} ${set}`));
  }

  private deleteConntrack(tuples: readonly ConntrackTuple[]): void {
    for (let i = 0; i < tuples.length; i += 256) {
      try {
        this.ctx.conntrackDelete(tuples.slice(i, i + 256));
      } catch (e) {
        this.warn(`conntrack delete failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
}

/** What reconcile reads back of a live pinhole: endpoints as `addr . port` text. */
interface Adopted {
  family: Family;
  aLocal?: string;
  bLocal?: string;
  aPeer?: string;
  bPeer?: string;
}

/** A record rebuilt from the kernel's elements, when complete. */
function adoptedRecord(id: string, n: number, e: Adopted | undefined): PinholeRecord | undefined {
  if (e?.aLocal === undefined || e.bLocal === undefined || e.aPeer === undefined || e.bPeer === undefined) {
    return undefined;
  }
  const endpoint = (s: string) => {
    const [address, port] = s.split(' . ') as [string, string];
    return { address, port: Number(port) };
  };
  return {
    id,
    n,
    family: e.family,
    aLocal: endpoint(e.aLocal),
    bLocal: endpoint(e.bLocal),
    aPeer: endpoint(e.aPeer),
    bPeer: endpoint(e.bPeer),
  };
}
