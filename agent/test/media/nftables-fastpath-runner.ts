/**
 * Test helper for nftables-fastpath.test.ts: run in a network namespace of the test's own
 * (`ip netns exec <ns> node --import tsx ...`), it installs the driver's base ruleset and, for a
 * sample of every set and map of it (IPv4 and IPv6), adds each element through libnftables (nft
 * text) and through the addon's netlink fast path (`setElements`, keys from nft-elements.ts), and
 * prints one JSON line saying what the kernel holds each way:
 *
 *   { parity: [{ set, key, text, fast, fastDeletedText, textDeletedFast }], atomic: {...} }
 *
 * `text`/`fast` are the element as `nft -j list` shows it (without `expires`, which ticks);
 * `fastDeletedText` / `textDeletedFast`: a fast-path delete found the text-added element, and a
 * text delete the fast-path one (the kernel matches keys byte for byte).
 */
import { loadNftables } from '@sipwall/nftables-napi';
import { addOp, deleteOp } from '../../src/media/drivers/nft-elements.js';
import {
  addLines,
  baseRuleset,
  deleteLines,
  type Element,
  NFT_MEDIA_TABLE,
  type PinholeRecord,
  pinholeElements,
  SET,
  userSpaceElements,
} from '../../src/media/drivers/nft-ruleset.js';

const r = loadNftables();
if (!r.ok) throw new Error(r.reason);
const ctx = new r.Nftables();
if (ctx.setElements === undefined) throw new Error('the addon has no setElements');
const setElements = ctx.setElements.bind(ctx);
ctx.run(baseRuleset({ portMin: 30000, portMax: 40000, maxPinholes: 100, priority: -160 }));

const record = (n: number, f: 4 | 6): PinholeRecord => {
  const a = (v4: string, v6: string) => (f === 4 ? v4 : v6);
  return {
    id: n === 1 ? 'call-1@example.com/0/rtp' : `a call id that is hashed ${n}`,
    n: n === 1 ? 1 : 0xfffffff0 + n,
    family: f,
    aLocal: { address: a('192.168.77.1', '2001:db8:77::1'), port: 30000 + n },
    aPeer: { address: a('192.168.77.10', '2001:db8:77::10'), port: 6000 },
    bLocal: { address: a('203.0.113.1', '2001:db8:113::1'), port: 39999 },
    bPeer: { address: a('203.0.113.10', 'fe80::1:2:3:4'), port: 65535 },
    aAccept: 'peer',
    bAccept: 'peer',
  };
};

/** The element of `e.key` as `nft -j list` shows it, without `expires`. */
function listed(e: Element): unknown {
  const kind = e.set.startsWith('media_id') || e.set.includes('nat') ? 'map' : 'set';
  const doc = JSON.parse(ctx.run(`list ${kind} ${NFT_MEDIA_TABLE} ${e.set}`)) as {
    nftables: Array<Record<string, { elem?: unknown[] }>>;
  };
  const elems = doc.nftables.find((o) => o[kind] !== undefined)?.[kind]?.elem ?? [];
  if (elems.length !== 1) return { count: elems.length, elems };
  return JSON.parse(JSON.stringify(elems[0]), (k, v: unknown) => (k === 'expires' ? undefined : v));
}

const attempt = (f: () => void): string | true => {
  try {
    f();
    return true;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
};

const samples: Element[] = [];
for (const f of [4, 6] as const) {
  for (const n of [1, 7]) samples.push(...pinholeElements(record(n, f)));
  samples.push(...userSpaceElements([record(1, f).aLocal]));
}
samples.push({ set: SET.busy, key: '4294967295' });

const parity = samples.map((e) => {
  // media_busy has no timeout flag (the packet path fills it): added without one.
  const timeout = e.set === SET.busy ? undefined : 60;
  const textAdd =
    timeout === undefined
      ? `add element ${NFT_MEDIA_TABLE} ${e.set} { ${e.key} }`
      : addLines([e], timeout).join('\n');
  ctx.run(textAdd);
  const text = listed(e);
  const fastDeletedText = attempt(() => setElements([deleteOp(e)]));
  setElements([addOp(e, timeout)]);
  const fast = listed(e);
  const textDeletedFast = attempt(() => ctx.run(deleteLines([e]).join('\n')));
  return { set: e.set, key: e.key, text, fast, fastDeletedText, textDeletedFast, left: listed(e) };
});

// A refresh through the fast path keeps the element (and its counter), renews its timeout.
const pin: Element = { set: SET.pin, key: '5', comment: 'refresh' };
setElements([addOp(pin, 2)]);
setElements([addOp(pin, 60)]);
const refreshed = listed(pin);
setElements([deleteOp(pin)]);

// A batch that fails applies nothing, and its error names the errno and the op.
let failure: { message: string; errno: unknown; op: unknown } | undefined;
try {
  setElements([
    addOp({ set: SET.pin, key: '11', comment: 'never' }, 60),
    deleteOp({ set: SET.pin, key: '12' }),
  ]);
} catch (e) {
  const x = e as Error & { errno?: unknown; op?: unknown };
  failure = { message: x.message, errno: x.errno, op: x.op };
}
const afterFailure = listed({ set: SET.pin, key: '11' });

// Add-then-delete in one batch removes an element whether it is there or not (the driver's close
// of elements that may have expired).
const gone: Element = { set: SET.dnat(4), key: '192.168.77.1 . 30500', value: '203.0.113.10 . 7000' };
const removeAbsent = attempt(() => setElements([addOp(gone), deleteOp(gone)]));
setElements([addOp(gone, 60)]);
const removePresent = attempt(() => setElements([addOp(gone), deleteOp(gone)]));
const afterRemove = listed(gone);

ctx.close();
process.stdout.write(
  `${JSON.stringify({ parity, refreshed, failure, afterFailure, removeAbsent, removePresent, afterRemove })}\n`,
);
