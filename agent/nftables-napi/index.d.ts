/** A conntrack entry to delete (UDP): `[family, srcAddr, srcPort, dstAddr, dstPort, which]`, which 0 = original tuple, 1 = reply tuple. */
export type ConntrackTuple = readonly [4 | 6, string, number, string, number, 0 | 1];

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
