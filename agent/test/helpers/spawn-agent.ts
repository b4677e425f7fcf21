import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root: `--import tsx` resolves from here. */
export const REPO_ROOT = resolve(here, '../../..');
export const CLI_PATH = resolve(REPO_ROOT, 'agent/src/cli.ts');

/** One JSON log line from the agent (pino). */
export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned agent process (from source, no build) with its output collected. */
export interface SpawnedAgent {
  readonly pid: number;
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  logs(): LogLine[];
  /** Resolves with the first log line matching `pred`; rejects after `timeoutMs` or on exit. */
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  waitForExit(timeoutMs?: number): Promise<Exit>;
  /** SIGTERM, then SIGKILL if still alive after `graceMs`. */
  stop(graceMs?: number): Promise<Exit>;
  kill(signal: NodeJS.Signals): void;
}

const live = new Set<SpawnedAgent>();

/** Spawns `sipwall-agent <args>` from TypeScript sources. */
export function spawnAgent(args: readonly string[], env: NodeJS.ProcessEnv = process.env): SpawnedAgent {
  const child = spawn(
    process.execPath,
    ['--conditions=@sipwall/source', '--import', 'tsx', CLI_PATH, ...args],
    {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  if (child.pid === undefined) throw new Error('spawn failed');
  let out = '';
  let err = '';
  let exit: Exit | undefined;
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of [...waiters]) w();
  };
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    notify();
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    notify();
  });
  const exited = new Promise<Exit>((res) =>
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      res(exit);
    }),
  );
  // Output may still be draining after `exit`; `close` means every stream ended.
  child.on('close', notify);

  const logs = (): LogLine[] =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as LogLine];
        } catch {
          return [];
        }
      });

  const bounded = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
    new Promise<T>((res, rej) => {
      const t = setTimeout(
        () =>
          rej(new Error(`timed out after ${ms} ms waiting for ${what}\nstdout:\n${out}\nstderr:\n${err}`)),
        ms,
      );
      p.then(
        (v) => {
          clearTimeout(t);
          res(v);
        },
        (e: unknown) => {
          clearTimeout(t);
          rej(e);
        },
      );
    });

  const agent: SpawnedAgent = {
    pid: child.pid,
    child,
    stdout: () => out,
    stderr: () => err,
    logs,
    waitForLog(pred, timeoutMs = 15_000) {
      const found = new Promise<LogLine>((res, rej) => {
        const check = () => {
          const hit = logs().find(pred);
          if (hit !== undefined) {
            waiters.delete(check);
            res(hit);
          } else if (exit !== undefined && child.stdout?.readableEnded) {
            waiters.delete(check);
            rej(
              new Error(
                `agent exited (${JSON.stringify(exit)}) before the expected log line\nstderr:\n${err}`,
              ),
            );
          }
        };
        waiters.add(check);
        check();
      });
      return bounded(found, timeoutMs, 'a log line');
    },
    waitForExit(timeoutMs = 15_000) {
      return bounded(exited, timeoutMs, 'the agent to exit');
    },
    async stop(graceMs = 8000) {
      if (exit !== undefined) return exit;
      child.kill('SIGTERM');
      const t = setTimeout(() => {
        if (exit === undefined) child.kill('SIGKILL');
      }, graceMs);
      const e = await exited;
      clearTimeout(t);
      live.delete(agent);
      return e;
    },
    kill(signal) {
      child.kill(signal);
    },
  };
  live.add(agent);
  void exited.then(() => live.delete(agent));
  return agent;
}

/** Spawns the agent and waits for its `agent ready` line; returns it with the real admin port. */
export async function startAgent(
  args: readonly string[],
  timeoutMs = 20_000,
): Promise<{ agent: SpawnedAgent; adminPort: number; ready: LogLine }> {
  const agent = spawnAgent(args);
  const ready = await agent.waitForLog((l) => l.msg === 'agent ready', timeoutMs);
  const admin = ready.admin as { port: number };
  return { agent, adminPort: admin.port, ready };
}

/** Runs a short CLI command (help, version, check-config) to completion. */
export async function runCli(
  args: readonly string[],
  timeoutMs = 20_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const agent = spawnAgent(args);
  const exit = await agent.waitForExit(timeoutMs).catch(async (e: unknown) => {
    await agent.stop(1000);
    throw e;
  });
  await new Promise<void>((res) =>
    agent.child.stdout?.readableEnded ? res() : agent.child.on('close', res),
  );
  return { code: exit.code, stdout: agent.stdout(), stderr: agent.stderr() };
}

/** Stops every agent this helper started that is still running (by PID; for `afterEach`). */
export async function stopAllAgents(): Promise<void> {
  await Promise.all([...live].map((a) => a.stop(3000)));
}
