/**
 * bench/fleet — the control plane at fleet scale, on its embedded defaults (PGlite + aedes), as
 * `npm start` runs it: one real control-plane process, and N simulated agents (light MQTT clients,
 * `sim-agent.ts`) in this process.
 *
 *   npm run bench:fleet -w @sipwall/bench -- --agents N [--records R] [--batch B] [--agents-per-site S]
 *     [--connect-concurrency C] [--timeout-s S] [--cp-prof DIR]   (DIR: a CPU profile of the control plane)
 *
 * Steps: provision N agents through the public API (tRPC `agents.create`, then `POST /api/enroll`
 * with each one-time token, as a real agent does); connect them all; push: one organization-wide
 * policy change (a bulk change for every site), timed from the call until each agent's `reported`
 * for the new version was acknowledged by the broker, and until the control plane's database shows
 * every agent applied; ingest: every agent sends R call records in batches of B and waits for the
 * control plane's `ack` of each batch; rate = records stored / elapsed; lost = sent − stored
 * (stored as the control plane counts them). Progress goes to stderr; the last line of stdout is
 * `fleet: agents=N push_p50_ms=A push_p99_ms=B ingest_records_per_s=C lost=D`.
 * Everything listens on 127.0.0.1; only the control-plane process this script started is signalled.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freeTcpPort, log, rssBytes, sleep, stopChild } from '../register/procs.js';
import { type FleetApi, fleetApi } from './api.js';
import { SimAgent, selfCheck } from './sim-agent.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
const ADMIN = { email: 'bench@fleet.test', password: 'bench-fleet-password-1234' };

const { values: args } = parseArgs({
  options: {
    agents: { type: 'string', default: '1000' },
    'agents-per-site': { type: 'string', default: '10' },
    records: { type: 'string', default: '20' },
    batch: { type: 'string', default: '20' },
    'connect-concurrency': { type: 'string', default: '200' },
    'timeout-s': { type: 'string', default: '600' },
    /** Writes a CPU profile of the control-plane process into this directory (`node --cpu-prof`). */
    'cp-prof': { type: 'string' },
  },
});
const N = Number(args.agents);
const PER_SITE = Number(args['agents-per-site']);
const RECORDS = Number(args.records);
const BATCH = Number(args.batch);
const CONCURRENCY = Number(args['connect-concurrency']);
const DEADLINE = Date.now() + Number(args['timeout-s']) * 1000;
for (const [k, v] of Object.entries({ N, PER_SITE, RECORDS, BATCH, CONCURRENCY })) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${k} must be a positive integer`);
}

function remainingMs(): number {
  const ms = DEADLINE - Date.now();
  if (ms <= 0) throw new Error(`over the --timeout-s budget of ${args['timeout-s']} s`);
  return ms;
}

/** Runs `fn` over `items` with at most `limit` in flight, logging progress every 10 %. */
async function pool<T>(
  what: string,
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<void>,
) {
  let next = 0;
  let done = 0;
  const step = Math.max(1, Math.floor(items.length / 10));
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
      if (++done % step === 0 || done === items.length) log(`  ${what}: ${done}/${items.length}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)] as number;
}

async function startControlPlane(dir: string): Promise<{ child: ChildProcess; url: string }> {
  const httpPort = await freeTcpPort();
  const mqttPort = await freeTcpPort();
  const child = spawn(
    process.execPath,
    [
      ...(args['cp-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${resolve(args['cp-prof'])}`] : []),
      '--conditions=@sipwall/source',
      '--import',
      'tsx',
      join(REPO, 'control-plane/server/src/main.ts'),
    ],
    {
      cwd: REPO,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        HOST: '127.0.0.1',
        PORT: String(httpPort),
        MQTT_PORT: String(mqttPort),
        DATA_DIR: dir,
        DATABASE_URL: '',
        MQTT_URL: '',
        LOG_LEVEL: 'warn',
        SIPWALL_ADMIN_EMAIL: ADMIN.email,
        SIPWALL_ADMIN_PASSWORD: ADMIN.password,
      },
    },
  );
  const url = `http://127.0.0.1:${httpPort}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`control plane exited with ${child.exitCode}`);
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { child, url };
    remainingMs();
    await sleep(250);
  }
}

async function main() {
  selfCheck();
  const dir = mkdtempSync(join(tmpdir(), 'sipwall-bench-fleet-'));
  const { child, url } = await startControlPlane(dir);
  const agents: SimAgent[] = [];
  try {
    log(`fleet: control plane pid ${child.pid} at ${url} (PGlite in ${dir}, embedded broker)`);
    const api: FleetApi = await fleetApi(url, ADMIN);
    const org = await api.createOrganization('bench-fleet');

    // --- provision ------------------------------------------------------------------------
    const sites: string[] = [];
    const siteCount = Math.ceil(N / PER_SITE);
    await pool(
      'sites',
      Array.from({ length: siteCount }, (_, i) => i),
      16,
      async (i) => {
        sites[i] = await api.createSite(org, `site-${String(i).padStart(5, '0')}`);
      },
    );
    let t = performance.now();
    await pool(
      'agents enrolled',
      Array.from({ length: N }, (_, i) => i),
      32,
      async (i) => {
        const siteId = sites[Math.floor(i / PER_SITE)] as string;
        const creds = await api.createAndEnrollAgent(siteId, `agent-${String(i).padStart(6, '0')}`);
        agents[i] = new SimAgent(creds);
      },
    );
    log(`fleet: ${N} agents provisioned in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    t = performance.now();
    await pool('agents connected', agents, CONCURRENCY, (a) => a.connect());
    log(`fleet: ${N} agents connected in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    while ((await api.countOnline(org)) < N) {
      remainingMs();
      await sleep(500);
    }
    // The first desired version (if the control plane pushes one on enrollment) is not measured.
    await sleep(1000);
    const before = agents.map((a) => a.applied.length);

    // --- push -------------------------------------------------------------------------------
    const t0 = performance.now();
    const version = await api.bulkPolicyChange(org, sites);
    log(`fleet: bulk policy change accepted in ${(performance.now() - t0).toFixed(0)} ms`);
    const appliedAt = new Array<number>(N);
    for (;;) {
      let missing = 0;
      agents.forEach((a, i) => {
        if (appliedAt[i] !== undefined) return;
        const mark = a.applied.slice(before[i]).find((m) => version === null || m.version >= version);
        if (mark) appliedAt[i] = mark.reportedAt - t0;
        else missing++;
      });
      if (missing === 0) break;
      log(`  push: ${N - missing}/${N} agents reported the new version`);
      if (DEADLINE - Date.now() <= 0)
        throw new Error(`push: ${missing} agents never reported the new version`);
      await sleep(500);
    }
    const lat = appliedAt.slice().sort((a, b) => a - b);
    while ((await api.countApplied(org, version)) < N) {
      remainingMs();
      await sleep(250);
    }
    const converged = performance.now() - t0;
    log(
      `fleet: push p50 ${percentile(lat, 50).toFixed(0)} ms, p99 ${percentile(lat, 99).toFixed(0)} ms, ` +
        `max ${percentile(lat, 100).toFixed(0)} ms; the control plane showed all applied after ${converged.toFixed(0)} ms`,
    );

    // --- ingest -----------------------------------------------------------------------------
    const storedBefore = await api.countCallRecords(org);
    const t1 = performance.now();
    let failed = 0;
    await pool('agents acknowledged', agents, N, async (a) => {
      await a.sendCallRecords(RECORDS, BATCH, remainingMs()).catch((e: Error) => {
        failed++;
        if (failed <= 5) log(`  ${e.message}`);
      });
    });
    const ingestMs = performance.now() - t1;
    const sent = agents.reduce((s, a) => s + a.recordsSent, 0);
    const acked = agents.reduce((s, a) => s + a.recordsAcked, 0);
    const stored = (await api.countCallRecords(org)) - storedBefore;
    const rate = stored / (ingestMs / 1000);
    log(
      `fleet: ${sent} records sent, ${acked} acknowledged, ${stored} stored in ${(ingestMs / 1000).toFixed(1)} s ` +
        `(${failed} agents with unacknowledged batches); control plane RSS ${(rssBytes(child.pid ?? 0) / 1048576).toFixed(0)} MB`,
    );
    console.log(
      `fleet: agents=${N} push_p50_ms=${percentile(lat, 50).toFixed(0)} push_p99_ms=${percentile(lat, 99).toFixed(0)} ` +
        `ingest_records_per_s=${rate.toFixed(0)} lost=${sent - stored}`,
    );
  } finally {
    await Promise.all(agents.filter(Boolean).map((a) => a.close()));
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  log(`fleet: ${(e as Error).stack ?? String(e)}`);
  process.exit(1);
});
