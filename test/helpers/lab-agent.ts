/**
 * Runs the real agent inside a lab's `fw` namespace (inside 192.168.77.1, outside 203.0.113.1,
 * the lab's dnsmasq as DNS server), with the users of the shipped example config
 * (`agent/examples/loopback.yaml`: alice/alice-secret, bob/bob-secret in example.test).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { LAB_ADDR, type Lab } from '../../infra/lab/lab.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLE = join(REPO_ROOT, 'agent/examples/loopback.yaml');

/** The users exactly as shipped in the example config. */
export function exampleUsers(): unknown[] {
  const doc = parse(readFileSync(EXAMPLE, 'utf8')) as { users: unknown[] };
  return doc.users;
}

/** A lab agent config: the example's domain and users on the lab's addresses; `extra` merged on top. */
export function labAgentConfig(
  stateDir: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const base: Record<string, unknown> = {
    site: 'lab',
    stateDir,
    log: { level: 'info' },
    sip: {
      domains: ['example.test'],
      interfaces: [
        {
          name: 'inside',
          role: 'inside',
          address: LAB_ADDR.fwInside,
          port: 5060,
          transports: ['udp', 'tcp'],
          networks: [LAB_ADDR.lanNet],
        },
        {
          name: 'outside',
          role: 'outside',
          address: LAB_ADDR.fwOutside,
          port: 5060,
          transports: ['udp', 'tcp'],
        },
      ],
      proxy: { dnsServers: [LAB_ADDR.dns] },
    },
    admin: { address: '127.0.0.1', port: 9090 },
    users: exampleUsers(),
  };
  return deepMerge(base, extra);
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] =
      isPlain(cur) && isPlain(v)
        ? deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

function isPlain(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface LabAgent {
  readonly process: ChildProcess;
  readonly dir: string;
  /** Everything the agent printed so far (pino JSON lines). */
  logs(): string;
  /** GET on the agent's admin API (queried from inside the fw namespace). */
  admin<T = unknown>(path: string): Promise<T>;
  stop(): Promise<void>;
}

/** Starts the agent in `fw` with `config` (JSON is YAML) and waits for "agent ready". */
export async function startLabAgent(
  lab: Lab,
  config: Record<string, unknown>,
  timeoutMs = 20_000,
): Promise<LabAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'sipwall-lab-agent-'));
  const file = join(dir, 'agent.yaml');
  writeFileSync(
    file,
    JSON.stringify({ ...config, stateDir: (config.stateDir as string) ?? join(dir, 'state') }),
  );
  const proc = lab.spawn(
    'fw',
    process.execPath,
    [
      '--conditions=@sipwall/source',
      '--import',
      'tsx',
      join(REPO_ROOT, 'agent/src/cli.ts'),
      '--config',
      file,
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const deadline = Date.now() + timeoutMs;
  while (!out.includes('"msg":"agent ready"')) {
    if (proc.exitCode !== null) throw new Error(`agent exited (${proc.exitCode}):\n${out}`);
    if (Date.now() > deadline) throw new Error(`agent not ready within ${timeoutMs} ms:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const adminPort = ((config.admin as { port?: number } | undefined)?.port ?? 9090) as number;
  return {
    process: proc,
    dir,
    logs: () => out,
    async admin<T>(path: string): Promise<T> {
      const script = `fetch('http://127.0.0.1:${adminPort}${path}').then(r=>r.text()).then(t=>process.stdout.write(t))`;
      const r = await lab.exec('fw', process.execPath, ['-e', script], { timeoutMs: 10_000 });
      return JSON.parse(r.stdout) as T;
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 6000))]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
}
