/**
 * A/B of the in-process registration cost (see inproc.ts) between two checkouts, in ONE process:
 * both agent pipelines are loaded side by side and measured in alternating batches, so the
 * fast/slow phases of a shared VM hit both alike (separate runs differ by ±20 % here; the ratio
 * of alternating batches holds to a few %).
 *
 *   node --max-semi-space-size=64 --conditions=@sipwall/source --import tsx \
 *     bench/register/inproc-ab.ts <checkout A> <checkout B> [batches] [per batch]
 *
 * A checkout is a directory holding `agent/src` (e.g. a `git worktree` of the base commit).
 */
import { resolve } from 'node:path';
import { loadStack } from './inproc-stack.js';
import { makeUsers } from './users.js';

const [rootA, rootB] = [process.argv[2], process.argv[3]];
if (rootA === undefined || rootB === undefined) {
  process.stderr.write('usage: inproc-ab.ts <checkout A> <checkout B> [batches] [per batch]\n');
  process.exit(2);
}
const BATCHES = Number(process.argv[4] ?? 20);
const PER = Number(process.argv[5] ?? 2000);
const users = makeUsers(5000);

const stacks = [await loadStack(resolve(rootA), users), await loadStack(resolve(rootB), users)];
const us: number[][] = [[], []];
let next = 0;
async function batch(k: number, count: number, record: boolean): Promise<void> {
  const s = stacks[k]!;
  const c0 = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    if (!s.one(next++)) throw new Error(`${s.name}: registration ${next} got no 401`);
    if (i % 500 === 499) await new Promise((r) => setImmediate(r)); // let the journal run
  }
  const c = process.cpuUsage(c0);
  if (record) us[k]!.push((c.user + c.system) / count);
}
for (let w = 0; w < 3; w++) for (const k of [0, 1]) await batch(k, PER, false);
for (let b = 0; b < BATCHES; b++) {
  // ABBA order so neither side always runs right after the other's journal burst
  for (const k of b % 2 === 0 ? [0, 1] : [1, 0]) await batch(k, PER, true);
  process.stderr.write(`\rbatch ${b + 1}/${BATCHES}`);
}
process.stderr.write('\n');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ratios = us[0]!.map((a, i) => us[1]![i]! / a);
for (const k of [0, 1])
  process.stdout.write(
    `${k === 0 ? 'A' : 'B'} ${stacks[k]!.name}: median ${median(us[k]!).toFixed(1)} µs CPU per registration (incl. client side)\n`,
  );
process.stdout.write(
  `B/A median ratio ${median(ratios).toFixed(3)} (batches: ${ratios.map((r) => r.toFixed(2)).join(' ')})\n`,
);
for (const s of stacks) await s.close();
process.exit(0);
