import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT, startAgent, stopAllAgents } from '../helpers/spawn-agent.js';

/**
 * Hardening item 10: the state holds every phone's contact and address, the MQTT credentials and
 * the topology-hiding key. After the real agent starts, the state directory is 0700 and every
 * state file 0600, whether the agent created them or an older agent left them world-readable.
 */
const dirs: string[] = [];
afterEach(stopAllAgents);
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

async function startWithStateDir(stateDir: string) {
  const dir = await mkdtemp(join(tmpdir(), 'sipwall-state-'));
  dirs.push(dir);
  const example = await readFile(resolve(REPO_ROOT, 'agent/examples/loopback.yaml'), 'utf8');
  const path = join(dir, 'agent.yaml');
  await writeFile(path, example.replace('stateDir: ./agent-state', `stateDir: ${stateDir}`));
  return startAgent(['--config', path, '--sip-port', '0', '--admin-port', '0']);
}

describe('state directory and files are owner-only', () => {
  it('a fresh start creates the directory 0700 and bindings.jsonl, passive/ and topology.key owner-only', {
    timeout: 40_000,
  }, async () => {
    const root = await mkdtemp(join(tmpdir(), 'sipwall-state-root-'));
    dirs.push(root);
    const stateDir = join(root, 'state');
    const { agent } = await startWithStateDir(stateDir);
    try {
      expect(await modeOf(stateDir)).toBe(0o700);
      expect(await modeOf(join(stateDir, 'bindings.jsonl'))).toBe(0o600);
      expect(await modeOf(join(stateDir, 'passive'))).toBe(0o700);
      expect(await modeOf(join(stateDir, 'passive', 'bindings.jsonl'))).toBe(0o600);
      expect(await modeOf(join(stateDir, 'topology.key'))).toBe(0o600);
    } finally {
      expect(await agent.stop()).toEqual({ code: 0, signal: null });
    }
  });

  it('tightens what an older agent left world-readable (0755 directories, 0644 files)', {
    timeout: 40_000,
  }, async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'sipwall-state-old-'));
    dirs.push(stateDir);
    await mkdir(join(stateDir, 'passive'));
    const files = ['bindings.jsonl', 'passive/bindings.jsonl', 'topology.key', 'desired.json'];
    await writeFile(join(stateDir, 'bindings.jsonl'), '');
    await writeFile(join(stateDir, 'passive', 'bindings.jsonl'), '');
    await writeFile(join(stateDir, 'topology.key'), Buffer.alloc(64, 1));
    await writeFile(join(stateDir, 'desired.json'), '{}\n');
    for (const f of files) await chmod(join(stateDir, f), 0o644);
    await chmod(join(stateDir, 'passive'), 0o755);
    await chmod(stateDir, 0o755);

    const { agent } = await startWithStateDir(stateDir);
    try {
      expect(await modeOf(stateDir)).toBe(0o700);
      expect(await modeOf(join(stateDir, 'passive'))).toBe(0o700);
      for (const f of files) expect([f, await modeOf(join(stateDir, f))]).toEqual([f, 0o600]);
    } finally {
      expect(await agent.stop()).toEqual({ code: 0, signal: null });
    }
  });
});
