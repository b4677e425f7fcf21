/**
 * bench/overload — does the agent degrade, not collapse, when offered more REGISTERs than it can
 * serve? SIPp runs bench/register's digest scenario (REGISTER → 401 → REGISTER with credentials
 * → 200) against one agent at 1×, 2× and 4× its capacity; per level: goodput (successful
 * registrations per second), failures, retransmissions; and the agent's RSS before the storm,
 * at its peak and `--after-s` (60) seconds after it.
 *
 *   node --conditions=@sipwall/source --import tsx bench/overload/run.ts [options]
 *   npm run bench:overload -w @sipwall/bench -- [options]
 *
 * Options: --capacity R (skip the ramp: 1× = R registrations/s), --levels 1,2,4, --level-s S
 * (15 s per level), --pause-s S (5 s between levels), --after-s S (60), --users N (5000),
 * --agent-node-args "…", --work DIR.
 *
 * Capacity: a ramp on a fresh agent (from 500/s, +500/s each second, until two bad 1-s periods:
 * bench/register's rule), 1× = 85 % of the knee. The levels then run on another fresh agent, one
 * after the other, so the storm's leftovers (completed transactions, nonce-count entries, heap)
 * show in the RSS after it. Last line of stdout:
 * `overload: goodput_1x=A goodput_2x=B goodput_4x=C rss_before_mb=D rss_peak_mb=E rss_after_mb=F`.
 * Everything runs on 127.0.0.1; only processes this script started are signalled, by PID.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { agentNodeFlags } from '../../agent/bin/node-flags.js';
import { RssSampler } from '../lib/rss-sampler.js';
import { registerAll } from '../register/digest-client.js';
import {
  CpuWindow,
  freeTcpPort,
  freeUdpPort,
  log,
  rssBytes,
  sleep,
  stopChild,
  udpRcvbufErrors,
  waitSipReady,
} from '../register/procs.js';
import { generationTime, num, runSipp, SIPP, sippTime } from '../register/sipp.js';
import { type BenchUser, makeUsers, REALM, writeAgentConfig, writeSippUsers } from '../register/users.js';
import { agentEntryArgs } from '../lib/agent-entry.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
/** The ramp: bench/register's scenario, where a 503 fails the registration (and the ramp stops). */
const RAMP_SCENARIO = join(HERE, '../register/sipp/register-digest.xml');
/** The levels: the same registration, a 503 handled as a phone does (see the file). */
const SCENARIO = join(HERE, 'sipp', 'register-digest-503.xml');

const { values: args } = parseArgs({
  options: {
    capacity: { type: 'string' },
    levels: { type: 'string', default: '1,2,4' },
    'level-s': { type: 'string', default: '15' },
    'pause-s': { type: 'string', default: '5' },
    'after-s': { type: 'string', default: '60' },
    users: { type: 'string', default: '5000' },
    'agent-node-args': { type: 'string', default: '' },
    work: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write(
    'node --conditions=@sipwall/source --import tsx bench/overload/run.ts [--capacity R] [--levels 1,2,4] ' +
      '[--level-s S] [--pause-s S] [--after-s S] [--users N] [--agent-node-args "…"] [--work DIR]\n',
  );
  process.exit(0);
}
const LEVELS = args.levels.split(',').map(Number);
const LEVEL_S = Number(args['level-s']);
const PAUSE_S = Number(args['pause-s']);
const AFTER_S = Number(args['after-s']);
const USERS = Number(args.users);
const AGENT_NODE_ARGS = args['agent-node-args'].split(' ').filter((a) => a !== '');
const WARMUP = 2000;
const RAMP = { start: 500, step: 500, max: 40_000, guardS: 60 };
for (const [name, v] of [
  ['--level-s', LEVEL_S],
  ['--pause-s', PAUSE_S],
  ['--after-s', AFTER_S],
  ['--users', USERS],
] as const) {
  if (!Number.isFinite(v) || v < 0) {
    process.stderr.write(`${name} must be a number ≥ 0\n`);
    process.exit(2);
  }
}
if (LEVELS.some((l) => !Number.isFinite(l) || l <= 0)) {
  process.stderr.write('--levels must be positive multiples, e.g. 1,2,4\n');
  process.exit(2);
}

const WORK = args.work ?? mkdtempSync(join(tmpdir(), 'sipwall-bench-overload-'));
mkdirSync(WORK, { recursive: true });
const usersCsv = join(WORK, 'users.csv');
const commands: Record<string, string> = {};

// ---------------------------------------------------------------- the agent (started here, stopped by PID)
interface Agent {
  readonly port: number;
  readonly adminPort: number;
  readonly child: ChildProcess;
}

/** The agent's heap and external memory (MB) from its admin `/metrics`, to tell heap growth from allocator slack. */
async function heapOf(agent: Agent): Promise<{ heapUsed: number; heapTotal: number; external: number }> {
  const text = await (await fetch(`http://127.0.0.1:${agent.adminPort}/metrics`)).text();
  const gauge = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    heapUsed: mb(gauge('nodejs_heap_size_used_bytes')),
    heapTotal: mb(gauge('nodejs_heap_size_total_bytes')),
    external: mb(gauge('nodejs_external_memory_bytes')),
  };
}
const heapLine = (h: Awaited<ReturnType<typeof heapOf>>) =>
  `heap used ${h.heapUsed} MB of ${h.heapTotal} MB, external ${h.external} MB`;
const running = new Set<Agent>();

async function startAgent(tag: string, users: readonly BenchUser[]): Promise<Agent> {
  const port = await freeUdpPort();
  const adminPort = await freeTcpPort();
  const cfg = join(WORK, `agent-${tag}.yaml`);
  // The shipped limits (sip.limits defaults): the overload behaviour is what is measured.
  writeAgentConfig(cfg, { sipPort: port, adminPort, stateDir: join(WORK, `state-${tag}`), users });
  const nodeArgs = [
    ...agentNodeFlags(),
    ...AGENT_NODE_ARGS,
    // the compiled agent, as shipped (bench/lib/agent-entry.ts)
    ...agentEntryArgs(),
    '--config',
    cfg,
    '--sip-port',
    String(port),
    '--admin-port',
    String(adminPort),
  ];
  commands[`agent-${tag}`] = [process.execPath, ...nodeArgs].join(' ');
  const fd = openSync(join(WORK, `agent-${tag}.log`), 'a');
  const child = spawn(process.execPath, nodeArgs, { cwd: REPO, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const agent = { port, adminPort, child };
  running.add(agent);
  if (!(await waitSipReady(child, port, 45_000))) {
    await stopAgent(agent);
    throw new Error(`agent did not answer OPTIONS (see ${WORK}/agent-${tag}.log)`);
  }
  return agent;
}

async function stopAgent(agent: Agent): Promise<void> {
  running.delete(agent);
  await stopChild(agent.child, 8000);
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping what this run started`);
    void Promise.all([...running].map(stopAgent)).finally(() => process.exit(130));
  });
}

/** The same warm-up as bench/register: 2,000 registrations with the bench's own client. */
async function warmUp(agent: Agent, users: readonly BenchUser[]): Promise<void> {
  const jobs = users.slice(0, WARMUP).map((u) => ({ user: u, contactUser: `${u.username}-warm` }));
  const w = await registerAll(agent.port, jobs, 64);
  if (w.ok === 0) throw new Error(`warm-up: no registration succeeded ${JSON.stringify(w.failures)}`);
  if (w.failed > 0) log(`warm-up: ${w.failed} of ${jobs.length} failed ${JSON.stringify(w.failures)}`);
}

function sippSetup(agent: Agent, localPort: number, tag: string, scenario = SCENARIO) {
  return { scenario, usersCsv, realm: REALM, serverPort: agent.port, localPort, dir: WORK, tag };
}

/** 1234 → 1200: two significant digits, rounded down. */
function niceFloor(x: number): number {
  if (x < 100) return Math.max(1, Math.floor(x));
  const mag = 10 ** (String(Math.floor(x)).length - 2);
  return Math.floor(x / mag) * mag;
}

async function measureCapacity(users: readonly BenchUser[]): Promise<{ knee: number; capacity: number }> {
  const agent = await startAgent('ramp', users);
  try {
    await warmUp(agent, users);
    log(`[capacity] ramp from ${RAMP.start}/s, +${RAMP.step}/s each second`);
    const r = await runSipp(sippSetup(agent, await freeUdpPort(), 'ramp', RAMP_SCENARIO), {
      mode: 'ramp',
      rate: RAMP.start,
      step: RAMP.step,
      maxRate: RAMP.max,
      guardS: RAMP.guardS,
      onPeriod: (p) =>
        log(
          `[capacity]   t=${p.t}s target ${p.target} achieved ${p.rate.toFixed(0)}/s retrans ${p.retrans} ` +
            `failed ${p.failed} rt ${p.rtMs} ms${p.bad.length ? `  BAD: ${p.bad.join(', ')}` : ''}`,
        ),
    });
    const knee = Math.round(r.knee ?? r.periods[r.periods.length - 1]?.rate ?? RAMP.start);
    return { knee, capacity: niceFloor(0.85 * knee) };
  } finally {
    await stopAgent(agent);
  }
}

// ---------------------------------------------------------------- one level
interface Level {
  multiple: number;
  offered: number;
  total: number;
  generated: number;
  /** Registrations answered 200. */
  successful: number;
  /** Registrations offered that did not end in 200 (503, timeouts, aborts). */
  failed: number;
  /** Refused with 503 (the scenario's `rejected` branch, which SIPp counts as successful). */
  rejected: number;
  /** Aborted on a message the scenario does not expect. */
  failedUnexpected: number;
  failedTimeout: number;
  retrans: number;
  goodput: number;
  rtAvgMs: number;
  agentCpuPct: number;
  udpRcvbufDrops: number;
  wallS: number;
  stopReason: string;
}

async function runLevel(agent: Agent, multiple: number, capacity: number): Promise<Level> {
  const offered = Math.round(multiple * capacity);
  const total = Math.round(offered * LEVEL_S);
  const cpu = new CpuWindow(() => [agent.child.pid!]);
  const drops0 = udpRcvbufErrors();
  const tag = `level-${multiple}x`;
  const r = await runSipp(sippSetup(agent, await freeUdpPort(), tag), {
    mode: 'fixed',
    rate: offered,
    total,
    guardS: LEVEL_S + 30,
  });
  const c = cpu.read();
  const last = r.rows[r.rows.length - 1];
  // Registrations that got their 200: the response-time buckets of the RTD that ends on it
  // (cumulative). SIPp's "successful call" also counts the scenario's `rejected` branch.
  const successful = Object.entries(last ?? {})
    .filter(([k]) => k.startsWith('ResponseTimeRepartition1_'))
    .reduce((a, [, v]) => a + (Number(v) || 0), 0);
  const gen = generationTime(r.rows, total);
  const created = num(last, 'TotalCallCreated');
  // Goodput over the time SIPp spent offering the level (longer than --level-s when it lagged).
  const offeringS = gen ?? Math.max(r.wallS, LEVEL_S);
  return {
    multiple,
    offered,
    total,
    generated: Math.round(created / offeringS),
    successful,
    failed: created - successful,
    rejected: num(last, 'SuccessfulCall(C)') - successful,
    failedUnexpected: num(last, 'FailedUnexpectedMessage(C)'),
    failedTimeout: num(last, 'FailedCallTimeout(C)') + num(last, 'FailedMaxUDPRetrans(C)'),
    retrans: num(last, 'Retransmissions(C)'),
    goodput: Math.round(successful / offeringS),
    rtAvgMs: Math.round(sippTime(last?.['ResponseTime1(C)']) * 10000) / 10,
    agentCpuPct: Math.round(c.pct),
    udpRcvbufDrops: udpRcvbufErrors() - drops0,
    wallS: Math.round(r.wallS * 10) / 10,
    stopReason: r.stopReason,
  };
}

// ---------------------------------------------------------------- main
const mb = (b: number) => Math.round(b / 1048576);

function gitCommit(): string {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' });
  return r.stdout?.trim() || 'n/a';
}

async function main(): Promise<void> {
  const started = new Date();
  const t0 = performance.now();
  const la0 = loadavg();
  const meta = {
    date: started.toISOString(),
    commit: gitCommit(),
    loadavgAtStart: la0.map((x) => Math.round(x * 100) / 100),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    node: process.version,
    users: USERS,
    levelS: LEVEL_S,
    work: WORK,
  };
  log(
    `bench/overload ${meta.date} at ${meta.commit}, load ${meta.loadavgAtStart.join(' ')}; work dir ${WORK}`,
  );
  const users = makeUsers(USERS);
  writeSippUsers(usersCsv, users);

  let knee: number | undefined;
  let capacity: number;
  if (args.capacity !== undefined) {
    capacity = Number(args.capacity);
  } else {
    const m = await measureCapacity(users);
    knee = m.knee;
    capacity = m.capacity;
    log(`[capacity] knee ${knee}/s → 1× = ${capacity}/s`);
  }

  const agent = await startAgent('levels', users);
  const pid = agent.child.pid!;
  const levels: Level[] = [];
  let rssBefore = 0;
  let rssAfter = 0;
  const heap: { before?: Awaited<ReturnType<typeof heapOf>>; after?: Awaited<ReturnType<typeof heapOf>> } =
    {};
  const sampler = new RssSampler(pid, 250);
  try {
    await warmUp(agent, users);
    await sleep(2000);
    rssBefore = rssBytes(pid);
    heap.before = await heapOf(agent);
    log(`[levels] RSS before ${mb(rssBefore)} MB, ${heapLine(heap.before)}`);
    sampler.start();
    for (const [i, multiple] of LEVELS.entries()) {
      if (i > 0) await sleep(PAUSE_S * 1000);
      log(`[levels] ${multiple}× = ${Math.round(multiple * capacity)}/s for ${LEVEL_S} s`);
      const l = await runLevel(agent, multiple, capacity);
      levels.push(l);
      log(
        `[levels] ${multiple}×: goodput ${l.goodput}/s of ${l.offered} offered (${l.generated} generated), ` +
          `ok ${l.successful} failed ${l.failed} (503 ${l.rejected}, unexpected ${l.failedUnexpected}, ` +
          `timeout ${l.failedTimeout}) ` +
          `retrans ${l.retrans}, rt ${l.rtAvgMs} ms, agent CPU ${l.agentCpuPct}%, RSS ${mb(rssBytes(pid))} MB, ` +
          heapLine(await heapOf(agent)),
      );
    }
    log(`[levels] waiting ${AFTER_S} s after the storm`);
    await sleep(AFTER_S * 1000);
    rssAfter = rssBytes(pid);
    heap.after = await heapOf(agent);
    log(`[levels] RSS after ${mb(rssAfter)} MB, ${heapLine(heap.after)}`);
  } finally {
    sampler.stop();
    await stopAgent(agent);
  }
  const rssPeak = Math.max(sampler.peak, rssAfter);
  const la1 = loadavg();
  const seconds = Math.round((performance.now() - t0) / 100) / 10;
  writeFileSync(
    join(WORK, 'results.json'),
    `${JSON.stringify(
      {
        meta: { ...meta, loadavgAtEnd: la1, seconds },
        knee,
        capacity,
        levels,
        rss: { before: rssBefore, peak: rssPeak, after: rssAfter, samples: sampler.samples },
        heap,
        commands,
      },
      null,
      1,
    )}\n`,
  );

  const out: string[] = [];
  out.push(
    `bench/overload  ${meta.date}  ${meta.commit}  load ${la0.map((x) => x.toFixed(2)).join(' ')} → ` +
      `${la1.map((x) => x.toFixed(2)).join(' ')}  ${meta.cpus} CPUs  (${seconds} s)`,
  );
  out.push(
    `capacity: ${knee === undefined ? 'given' : `ramp knee ${knee}/s, 85 % →`} 1× = ${capacity} reg/s; ` +
      `${LEVEL_S} s per level; ${USERS} users`,
  );
  out.push('');
  out.push(
    `${'level'.padEnd(6)}${'offered/s'.padStart(10)}${'generated/s'.padStart(12)}${'goodput/s'.padStart(10)}` +
      `${'ok'.padStart(9)}${'failed'.padStart(9)}${'503'.padStart(9)}${'timeout'.padStart(9)}` +
      `${'retrans'.padStart(9)}${'rt ms'.padStart(8)}${'agent CPU'.padStart(10)}${'rcvbuf drops'.padStart(13)}`,
  );
  for (const l of levels)
    out.push(
      `${`${l.multiple}×`.padEnd(6)}${String(l.offered).padStart(10)}${String(l.generated).padStart(12)}` +
        `${String(l.goodput).padStart(10)}${String(l.successful).padStart(9)}${String(l.failed).padStart(9)}` +
        `${String(l.rejected).padStart(9)}${String(l.failedTimeout).padStart(9)}` +
        `${String(l.retrans).padStart(9)}${String(l.rtAvgMs).padStart(8)}${`${l.agentCpuPct}%`.padStart(10)}` +
        `${String(l.udpRcvbufDrops).padStart(13)}`,
    );
  const g = (m: number) => levels.find((l) => l.multiple === m)?.goodput ?? 0;
  if (g(1) > 0) out.push(`goodput 4×/1×: ${((100 * g(4)) / g(1)).toFixed(0)} % (target ≥ 80 %)`);
  out.push(`RSS: before ${mb(rssBefore)} MB, peak ${mb(rssPeak)} MB, ${AFTER_S} s after ${mb(rssAfter)} MB`);
  out.push(`details: ${join(WORK, 'results.json')}`);
  out.push(
    `overload: goodput_1x=${g(1)} goodput_2x=${g(2)} goodput_4x=${g(4)} rss_before_mb=${mb(rssBefore)} ` +
      `rss_peak_mb=${mb(rssPeak)} rss_after_mb=${mb(rssAfter)}`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

if (!existsSync(SIPP)) {
  log(`needs ${SIPP}: apt-get install -y sip-tester`);
  process.exitCode = 1;
} else {
  await main().catch(async (e: unknown) => {
    log(`bench/overload failed: ${(e as Error).stack ?? String(e)}`);
    await Promise.all([...running].map(stopAgent));
    process.exitCode = 1;
  });
}
