/** A conntrack entry to delete (UDP): `[family, srcAddr, srcPort, dstAddr, dstPort, which]`, which 0 = original tuple, 1 = reply tuple. */
export type ConntrackTuple = readonly [4 | 6, string, number, string, number, 0 | 1];

/**
 * One element change for `setElements`, in table `inet sipwall`: `key` (and `data`, a map's value)
 * in nft's byte layout (each field of a concatenation padded to 4 bytes); an add refreshes an
 * identical existing element (new timeout, counters kept), like `nft add element`.
 */
export interface SetElementOp {
  readonly del: boolean;
  readonly set: string;
  readonly key: Uint8Array;
  readonly data?: Uint8Array;
  /** Adds only: the element's timeout. */
  readonly timeoutMs?: number;
  /** Adds only: the element's comment (as `comment "..."`, at most 252 bytes). */
  readonly comment?: string;
}

/** One libnftables context (and one ctnetlink socket), created once and reused. */
export interface NftablesContext {
  /**
   * Runs nft commands, JSON (`{"nftables":[...]}`) or nft's text syntax, as one batch: one kernel
   * transaction. Returns libnftables' JSON output ("" when the commands print nothing). Throws an
   * Error with libnftables' error text when the batch fails (then nothing of it was applied).
   */
  run(command: string): string;
  /** Deletes UDP conntrack entries by exact tuple, in one netlink round trip; absent ones are `missing`. */
  conntrackDelete(tuples: readonly ConntrackTuple[]): { deleted: number; missing: number };
  /**
   * Adds and deletes set elements of table `inet sipwall` with nf_tables netlink directly (no
   * libnftables), all ops in one batch: one kernel transaction, all or nothing. Throws an Error
   * with `errno` and `op` (the index of the op the kernel refused, -1 for the batch) when it fails.
   * Absent in addon builds that predate it.
   */
  setElements?(ops: readonly SetElementOp[]): void;
  /** Frees the context; later calls throw. */
  close(): void;
}

export interface NftablesConstructor {
  new (): NftablesContext;
}

export type LoadResult =
  | { readonly ok: true; readonly Nftables: NftablesConstructor }
  | { readonly ok: false; readonly reason: string };

/** The absolute path of the built addon binary. */
export declare const ADDON_PATH: string;

/** Loads the addon once; never throws: `{ ok: false, reason }` when it is not built or does not load. */
export function loadNftables(): LoadResult;
