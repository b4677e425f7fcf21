import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { REPO_ROOT, startAgent, stopAllAgents } from '../helpers/spawn-agent.js';

const dirs: string[] = [];
afterEach(stopAllAgents);
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

it('a standalone agent serves /healthz and /metrics on its real port and exits 0 on SIGTERM', {
  timeout: 40_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sipwall-admin-'));
  dirs.push(dir);
  const path = join(dir, 'agent.yaml');
  await writeFile(path, await readFile(resolve(REPO_ROOT, 'agent/examples/loopback.yaml'), 'utf8'));
  const { agent, adminPort, ready } = await startAgent([
    '--config',
    path,
    '--sip-port',
    '0',
    '--admin-port',
    '0',
  ]);
  expect(adminPort).toBeGreaterThan(0);
  expect(ready.controlPlane).toBe('standalone');

  const health = await fetch(`http://127.0.0.1:${adminPort}/healthz`, { signal: AbortSignal.timeout(5000) });
  expect(health.status).toBe(200);
  expect(await health.json()).toMatchObject({
    status: 'ok',
    site: 'loopback-lab',
    controlPlane: 'standalone',
    appliedVersion: null,
  });
  const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  expect(metrics).toContain('sipwall_agent_up 1');

  expect(await agent.stop()).toEqual({ code: 0, signal: null });
});
