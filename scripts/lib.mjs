// Helpers for the repo's own scripts (test runner, quick start). Node built-ins only:
// these run on a fresh clone before `npm ci` has installed anything.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function step(message) {
  process.stdout.write(`\n==> ${message}\n`);
}

/** Runs a command with inherited stdio; throws on a non-zero exit unless `allowFail`. */
export function run(cmd, args, { env = {}, allowFail = false, cwd = root } = {}) {
  const r = spawnSync(cmd, args, {
    cwd,
    stdio: 'inherit',
    env: { TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', ...process.env, ...env },
  });
  if (r.error) throw r.error;
  if (r.status !== 0 && !allowFail) {
    throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
  }
  return r.status ?? 1;
}

/** Installs dependencies when the clone has none yet (or the lockfile is newer than the install). */
export function ensureInstalled() {
  const marker = path.join(root, 'node_modules', '.package-lock.json');
  if (existsSync(marker)) return;
  step('installing dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

/** Builds every workspace (shared → agent/control plane → dashboard); turbo caches unchanged ones. */
export function buildAll() {
  step('building workspaces (turbo run build)');
  run('npx', ['turbo', 'run', 'build', '--output-logs=errors-only']);
}

/** True if something accepts TCP connections on host:port within the timeout. */
export function canConnect(port, host = '127.0.0.1', timeoutMs = 500) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (v) => {
      socket.destroy();
      resolve(v);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** First port from `start` upward that is free on `host` (bounded search). */
export async function freePortFrom(start, host = '127.0.0.1', tries = 50) {
  for (let port = start; port < start + tries; port++) {
    const free = await new Promise((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, host, () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${start}..${start + tries - 1} on ${host}`);
}

export { spawn };
