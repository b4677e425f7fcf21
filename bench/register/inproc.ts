/**
 * In-process CPU cost of one digest registration through the agent's real pipeline (transport
 * layer → transaction layer → core → registrar → journal), with a fake UDP transport instead of a
 * socket: no SIPp, no kernel, no other process. Steadier than the SIPp figure on a shared box,
 * and it isolates the JavaScript cost (the SIPp run adds the sendto/recvfrom syscalls).
 *
 *   node --conditions=@sipwall/source --import tsx bench/register/inproc.ts [registrations] [--cpu-prof]
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { answer, loadStack, register } from './inproc-stack.js';
import { makeUsers } from './users.js';

const N = Number(process.argv[2] ?? 40_000);
const users = makeUsers(5000);
const repo = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const stack = await loadStack(repo, users);

// Client-side work (building requests, hashing the answer) is measured separately and subtracted.
function clientOnly(i: number): void {
  register(users, i);
  register(users, i, answer(users, i, 'nonce="x"'));
}

async function measure(label: string, fn: (i: number) => unknown, count: number): Promise<number> {
  const c0 = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    fn(i);
    if (i % 500 === 499) await new Promise((r) => setImmediate(r)); // let the journal and the sends run
  }
  const c = process.cpuUsage(c0);
  const us = (c.user + c.system) / count;
  process.stderr.write(`${label}: ${us.toFixed(1)} µs CPU each (${count})\n`);
  return us;
}

const settle = async () => {
  for (let k = 0; k < 200; k++) await new Promise((r) => setTimeout(r, 5));
};
if (!stack.one(0)) throw new Error(`registration failed: ${stack.lastOut().slice(0, 200)}`);
await measure('warm-up', (i) => stack.one(i), Math.min(10_000, N));
await settle();
const client = await measure('client side only', clientOnly, N);
const ok0 = stack.oks();
const total = await measure('registration + client side', (i) => stack.one(i + 1_000_000), N);
await settle();
if (stack.oks() - ok0 !== N) throw new Error(`only ${stack.oks() - ok0} of ${N} registrations got a 200`);
process.stdout.write(
  `agent in-process: ${(total - client).toFixed(1)} µs CPU per registration (401 + 200)\n`,
);
const gcFn = (globalThis as { gc?: () => void }).gc;
if (gcFn !== undefined) {
  gcFn();
  const heap = process.memoryUsage();
  process.stderr.write(
    `after gc: ${stack.serverTransactions()} server transactions live, heap ${(heap.heapUsed / 1048576).toFixed(1)} MB, ` +
      `external+arrayBuffers ${((heap.external + heap.arrayBuffers) / 1048576).toFixed(1)} MB\n`,
  );
  if (process.env.HEAP_SNAPSHOT) (await import('node:v8')).writeHeapSnapshot(process.env.HEAP_SNAPSHOT);
}
await stack.close();
process.exit(0);
