/**
 * Preloaded into the agent process for the memory measurement only
 * (`node --expose-gc --import tsx --import ./bench/register/heap-probe.ts agent/src/cli.ts ...`,
 * spawned with an IPC channel). On `{ type: 'heap' }` from the parent it runs a full GC twice
 * and answers with `process.memoryUsage()`. It touches nothing in the agent.
 */
const gc = (globalThis as { gc?: () => void }).gc;

if (typeof process.send === 'function') {
  process.on('message', (m: unknown) => {
    if (typeof m !== 'object' || m === null || (m as { type?: unknown }).type !== 'heap') return;
    gc?.();
    gc?.();
    process.send?.({ type: 'heap', gc: gc !== undefined, ...process.memoryUsage() });
  });
  // The channel must not keep a stopping agent alive.
  process.channel?.unref();
}
