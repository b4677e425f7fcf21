import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_VERSION } from '../../src/version.js';
import { REPO_ROOT, runCli } from '../helpers/spawn-agent.js';

const LOOPBACK = resolve(REPO_ROOT, 'agent/examples/loopback.yaml');
let dir: string;
let loopbackText: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sipwall-cli-'));
  loopbackText = await readFile(LOOPBACK, 'utf8');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function configFile(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('sipwall-agent CLI', { timeout: 60_000, concurrent: true }, () => {
  it('--version prints the agent version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(AGENT_VERSION);
  });

  it('--help prints usage', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--config');
    expect(r.stdout).toContain('--check-config');
  });

  it('--check-config accepts examples/loopback.yaml with a one-line summary', async () => {
    const r = await runCli(['--config', LOOPBACK, '--check-config']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toContain('config OK');
    expect(r.stdout).toContain('loopback-lab');
  });

  it('--check-config applies --sip-port', async () => {
    const r = await runCli(['--config', LOOPBACK, '--check-config', '--sip-port', '5070']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('inside=127.0.0.1:5070');
    expect(r.stdout).toContain('outside=127.0.0.2:5070');
  });

  it('rejects a port out of range naming the field', async () => {
    const path = await configFile('port.yaml', loopbackText.replace('port: 5060', 'port: 70000'));
    const r = await runCli(['--config', path, '--check-config']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('AGENT_ERR_CONFIG_INVALID');
    expect(r.stderr).toMatch(/sip\.interfaces\.0\.port: .*65535/);
  });

  it('rejects an unknown key', async () => {
    const path = await configFile('unknown.yaml', `${loopbackText}\nfrobnicate: true\n`);
    const r = await runCli(['--config', path, '--check-config']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('AGENT_ERR_CONFIG_INVALID');
    expect(r.stderr).toContain('frobnicate');
  });

  it('rejects a YAML syntax error with its line', async () => {
    const path = await configFile('syntax.yaml', 'site: x\nsip:\n  domains: [a, b\n  interfaces: : :\n');
    const r = await runCli(['--config', path, '--check-config']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('AGENT_ERR_CONFIG_YAML');
    expect(r.stderr).toMatch(/line \d+, column \d+/);
  });

  it('fails on a missing file', async () => {
    const r = await runCli(['--config', join(dir, 'nope.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('AGENT_ERR_CONFIG_READ');
    expect(r.stderr).toContain('ENOENT');
  });

  it('exits 2 on a bad --sip-port', async () => {
    const r = await runCli(['--config', LOOPBACK, '--sip-port', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--sip-port');
    expect(r.stderr).toContain('Usage:');
  });

  it('exits 2 on an unknown flag', async () => {
    const r = await runCli(['--config', LOOPBACK, '--frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('frobnicate');
  });
});
