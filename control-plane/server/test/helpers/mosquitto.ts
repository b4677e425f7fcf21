import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomToken } from '../../src/security/tokens.js';

export const MOSQUITTO_BIN = '/usr/sbin/mosquitto';
export const MOSQUITTO_CTRL_BIN = '/usr/bin/mosquitto_ctrl';
export const DYNSEC_PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';

/** Why Mosquitto tests cannot run here, or null when they can. */
export function mosquittoMissing(): string | null {
  for (const f of [MOSQUITTO_BIN, MOSQUITTO_CTRL_BIN, DYNSEC_PLUGIN])
    if (!existsSync(f)) return `${f} not installed`;
  return null;
}

/** A Mosquitto this test started (by PID), with dynsec and an admin user. */
export interface TestMosquitto {
  port: number;
  pid: number;
  admin: { username: string; password: string };
  /** `mqtt://admin:pw@127.0.0.1:port` */
  adminUrl: string;
  /** Stops the broker process and keeps its files (credentials survive), for an outage test. */
  pause(): Promise<void>;
  /** Starts it again on the same port with the same files. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`mosquitto did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

/** Starts Mosquitto on a free loopback port with the dynamic security plugin. */
export async function startMosquittoDynsec(): Promise<TestMosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'sipwall-mosq-'));
  const admin = { username: 'sipwall-admin', password: randomToken(18) };
  const dynsecFile = join(dir, 'dynamic-security.json');
  execFileSync(MOSQUITTO_CTRL_BIN, ['dynsec', 'init', dynsecFile, admin.username, admin.password], {
    stdio: 'ignore',
    timeout: 10_000,
  });
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous false',
      `plugin ${DYNSEC_PLUGIN}`,
      `plugin_opt_config_file ${dynsecFile}`,
      'persistence false',
      // Running as root in CI containers: keep the user so the plugin can write its file in our temp dir.
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  );
  let child = await spawnMosquitto(conf, port);
  const pause = async () => {
    const c = child;
    if (c.exitCode !== null || c.pid === undefined) return;
    const exited = new Promise((r) => c.once('exit', r));
    process.kill(c.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (c.exitCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
    }, 3_000);
    await exited;
    clearTimeout(timer);
  };
  return {
    port,
    get pid() {
      return child.pid!;
    },
    admin,
    adminUrl: `mqtt://${admin.username}:${encodeURIComponent(admin.password)}@127.0.0.1:${port}`,
    pause,
    async resume() {
      if (child.exitCode === null) return;
      child = await spawnMosquitto(conf, port);
    },
    async stop() {
      await pause();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function spawnMosquitto(conf: string, port: number): Promise<ChildProcess> {
  const child = spawn(MOSQUITTO_BIN, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  try {
    await waitForPort(port, child, 5_000);
  } catch (e) {
    if (child.pid !== undefined && child.exitCode === null) child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}; stderr: ${stderr.slice(0, 500)}`);
  }
  return child;
}
