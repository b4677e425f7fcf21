/**
 * What the benches run as the agent: the compiled agent (`agent/dist/cli.js`), the code
 * `sipwall-agent` ships, built first (turbo; a no-op when nothing changed).
 *
 * Not the TypeScript source through tsx: esbuild's `keepNames` output wraps every named function
 * and closure in `__name(fn, "…")`, an `Object.defineProperty` per closure created, which turns each
 * closure's properties into a dictionary (~250 bytes more each). The agent creates several closures
 * per message (transaction callbacks, channels), so the source build costs CPU and heap per call that
 * the shipped agent does not pay, and a bench of it would measure esbuild's output, not the product.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const AGENT_DIST_CLI = join(REPO, 'agent', 'dist', 'cli.js');

let built = false;

/** Builds the agent and what it imports (once per bench process); throws if that fails. */
function buildAgent(): void {
  if (built) return;
  const r = spawnSync(
    'npx',
    ['turbo', 'run', 'build', '--filter=@sipwall/agent', '--output-logs=errors-only'],
    {
      cwd: REPO,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
    },
  );
  if (r.status !== 0 || !existsSync(AGENT_DIST_CLI))
    throw new Error(
      `building the agent failed (npx turbo run build --filter=@sipwall/agent: ${r.status ?? r.signal})`,
    );
  built = true;
}

/** The node arguments that start the compiled agent (after the V8 flags), building it first. */
export function agentEntryArgs(): string[] {
  buildAgent();
  return [AGENT_DIST_CLI];
}
