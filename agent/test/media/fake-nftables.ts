import type { ConntrackTuple, NftablesContext, SetElementOp } from '@sipwall/nftables-napi';
import type { PinholeSpec } from '../../src/media/types.js';

/**
 * A libnftables context for the kernel driver's unit tests (the kernel itself: the namespace tests
 * in this folder). It records every run (listings answer empty) and every conntrack delete, and
 * fails a run when `failRun` says so, as the real one does (a failed batch applies nothing). With
 * `failOp` it also has the binding's netlink fast path, recording each batch and failing one that
 * holds an op `failOp` marks, naming it as the addon does.
 */
export function fakeNftablesContext(
  opts: {
    failRun?: ((script: string) => boolean) | undefined;
    failOp?: (op: SetElementOp, i: number, ops: readonly SetElementOp[]) => boolean;
  } = {},
) {
  const runs: string[] = [];
  const batches: SetElementOp[][] = [];
  const conntrack: ConntrackTuple[][] = [];
  const { failRun, failOp } = opts;
  const ctx: NftablesContext = {
    run(command: string): string {
      if (command.startsWith('list ')) return '{"nftables":[]}';
      runs.push(command);
      if (failRun?.(command) === true)
        throw new Error('Error: Could not process rule: No such file or directory');
      return '';
    },
    conntrackDelete(tuples) {
      conntrack.push([...tuples]);
      return { deleted: tuples.length, missing: 0 };
    },
    close() {},
  };
  if (failOp !== undefined) {
    ctx.setElements = (ops) => {
      batches.push([...ops]);
      const bad = ops.findIndex(failOp);
      if (bad >= 0) {
        throw Object.assign(new Error(`nftables-napi: setElements: op ${bad}: No such file or directory`), {
          errno: 2,
          op: bad,
        });
      }
    };
  }
  return { ctx, runs, batches, conntrack };
}

/** Pinhole `i` of the unit tests: a inside (192.168.77.x), b outside (203.0.113.x), 60 s. */
export function pinholeSpec(i: number, peerPort = 7000): PinholeSpec {
  return {
    id: `call-${i}/0/rtp`,
    a: {
      local: { address: '192.168.77.1', port: 30000 + 2 * i },
      peer: { address: '192.168.77.10', port: 6000 },
    },
    b: {
      local: { address: '203.0.113.1', port: 30000 + 2 * i },
      peer: { address: '203.0.113.10', port: peerPort },
    },
    timeoutSec: 60,
  };
}
