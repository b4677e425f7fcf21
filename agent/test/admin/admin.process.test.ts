import { request } from 'node:http';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Binding } from '../../src/registrar/binding.js';
import { encodeChange } from '../../src/registrar/journal-record.js';
import { REPO_ROOT, runCli, spawnAgent, startAgent, stopAllAgents } from '../helpers/spawn-agent.js';

/**
 * Hardening item 9, against the real agent process: the admin API checks `Host` (a DNS-rebound
 * page cannot read it), takes a bearer token, refuses to listen beyond loopback without one, and
 * pages `/registrations` instead of silently stopping at 10,000 rows.
 */
const dirs: string[] = [];
afterEach(stopAllAgents);
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** The loopback example with its admin block replaced and its own state directory. */
async function configWith(
  admin: string,
  files: Record<string, string> = {},
): Promise<{ path: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'sipwall-admin-hard-'));
  dirs.push(dir);
  const example = await readFile(resolve(REPO_ROOT, 'agent/examples/loopback.yaml'), 'utf8');
  const yaml = example
    .replace('stateDir: ./agent-state', `stateDir: ${join(dir, 'state')}`)
    .replace(/admin:\n {2}address: 127\.0\.0\.1\n {2}port: 9090\n/, `admin:\n${admin}`);
  expect(yaml).toContain(admin);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const path = join(dir, 'agent.yaml');
  await writeFile(path, yaml);
  return { path, dir };
}

/** A raw HTTP GET with the Host header we choose (fetch does not let a caller set Host). */
function get(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = request({ host: '127.0.0.1', port, path, headers, timeout: 5000 }, (r) => {
      let body = '';
      r.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      r.on('end', () => res({ status: r.statusCode ?? 0, body }));
    });
    req.on('error', rej);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

const start = (path: string) => startAgent(['--config', path, '--sip-port', '0']);

describe('admin API of the running agent', () => {
  it('answers 421 to a DNS-rebound Host (attacker.example), 200 to its own address and localhost', {
    timeout: 40_000,
  }, async () => {
    const { path } = await configWith('  address: 127.0.0.1\n  port: 0\n');
    const { agent, adminPort } = await start(path);
    for (const host of ['attacker.example', `attacker.example:${adminPort}`]) {
      const res = await get(adminPort, '/registrations', { host });
      expect([host, res.status]).toEqual([host, 421]);
      expect(res.body).not.toContain('registrations');
    }
    expect((await get(adminPort, '/healthz', { host: `127.0.0.1:${adminPort}` })).status).toBe(200);
    expect((await get(adminPort, '/healthz', { host: `localhost:${adminPort}` })).status).toBe(200);
    expect(await agent.stop()).toEqual({ code: 0, signal: null });
  });

  it('with admin.tokenFile, refuses requests without the bearer token', { timeout: 40_000 }, async () => {
    const token = 'a-long-enough-admin-token-0123456789';
    const { path } = await configWith('  address: 127.0.0.1\n  port: 0\n  tokenFile: admin.token\n', {
      'admin.token': `${token}\n`,
    });
    const { agent, adminPort } = await start(path);
    const host = `127.0.0.1:${adminPort}`;
    expect((await get(adminPort, '/registrations', { host })).status).toBe(401);
    expect(
      (await get(adminPort, '/metrics', { host, authorization: 'Bearer not-the-token-at-all' })).status,
    ).toBe(401);
    expect((await get(adminPort, '/registrations', { host, authorization: `Bearer ${token}` })).status).toBe(
      200,
    );
    expect(await agent.stop()).toEqual({ code: 0, signal: null });
  });

  it('refuses to start bound beyond loopback without a token, naming admin.token', {
    timeout: 40_000,
  }, async () => {
    // Both refused by the config check at load, before anything is bound: 0.0.0.0 with
    // --check-config, 192.0.2.1 (TEST-NET, not on this host) at a real start.
    const wildcard = await configWith('  address: 0.0.0.0\n  port: 0\n');
    const checked = await runCli(['--config', wildcard.path, '--check-config']);
    expect(checked.code).not.toBe(0);
    expect(checked.stderr).toContain('admin.token');

    const lan = await configWith('  address: 192.0.2.1\n  port: 0\n');
    const agent = spawnAgent(['--config', lan.path, '--sip-port', '0']);
    const exit = await agent.waitForExit(20_000);
    expect(exit.code).not.toBe(0);
    expect(agent.stderr()).toContain('admin.token');
    expect(agent.stderr()).not.toContain('AGENT_ERR_ADMIN_LISTEN');
  });

  it('pages /registrations past 10,000 bindings: total, limit and nextCursor reach every one', {
    timeout: 60_000,
  }, async () => {
    const { path, dir } = await configWith('  address: 127.0.0.1\n  port: 0\n');
    // 10,050 live bindings in the journal, as a busy site's agent leaves them at a restart.
    const TOTAL = 10_050;
    const now = Date.now();
    const bindings: Binding[] = Array.from({ length: TOTAL }, (_, i) => ({
      aor: `sip:u${i}@example.test`,
      key: `sip:u${i}@10.1.${i >> 8}.${i & 255}:5060`,
      contact: `sip:u${i}@10.1.${i >> 8}.${i & 255}:5060`,
      q: undefined,
      expiresAt: now + 3_600_000,
      callId: `c${i}`,
      cseq: 1,
      instanceId: undefined,
      regId: undefined,
      flow: { transport: 'udp', address: `10.1.${i >> 8}.${i & 255}`, port: 5060 },
      registeredAt: now,
    }));
    await mkdir(join(dir, 'state'), { recursive: true });
    await writeFile(join(dir, 'state', 'bindings.jsonl'), encodeChange({ upserts: bindings, removals: [] }));
    const { agent, adminPort } = await start(path);
    const host = `127.0.0.1:${adminPort}`;

    type Body = { total: number; count: number; nextCursor: string | null; registrations: { aor: string }[] };
    const first = JSON.parse((await get(adminPort, '/registrations', { host })).body) as Body;
    expect(first).toMatchObject({ total: TOTAL, count: 1000, nextCursor: '1000' });

    const seen = new Set<string>();
    let cursor: string | null = '0';
    while (cursor !== null) {
      const page = JSON.parse(
        (await get(adminPort, `/registrations?limit=4000&cursor=${cursor}`, { host })).body,
      ) as Body;
      expect(page.total).toBe(TOTAL);
      for (const r of page.registrations) seen.add(r.aor);
      cursor = page.nextCursor;
    }
    expect(seen.size).toBe(TOTAL);
    expect((await get(adminPort, '/registrations?limit=10001', { host })).status).toBe(400);
    expect(await agent.stop()).toEqual({ code: 0, signal: null });
  });
});
