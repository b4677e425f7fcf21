/**
 * bench/register — digest-authenticated registrations per second through the agent's registrar,
 * driven by SIPp, next to Kamailio (Debian package) driven by the same SIPp scenario in the
 * same run; then the agent's memory per binding at 100,000 bindings.
 *
 *   node --conditions=@sipwall/source --import tsx bench/register/run.ts [--quick] [options]
 *   npm run bench:register -w @sipwall/bench -- [--quick]
 *
 * Options: --quick (about 1 min, 1 round), --rounds N (3: Kamailio and agent N times, order swapped
 * each round, median ratio), --users N (5000), --parts kamailio,agent,memory,inprocess,
 * --bindings N (100000; 20000 with --quick), --confirm-s S (10; 5 with --quick),
 * --kam-children N (8), --agent-max-pending N (1000000), --agent-cpu-prof (V8 CPU profile of each
 * agent process into the work dir), --work DIR.
 *
 * Progress goes to stderr, the result table to stdout, every detail to <work>/results.json.
 * Everything listens on and talks to 127.0.0.1 only. Only processes this script spawned are
 * signalled, by PID (Kamailio's forked workers: by the PIDs recorded at start, still children).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { type RegisterOutcome, type RegistrationJob, registerAll } from './digest-client.js';
import {
  CpuWindow,
  childrenOf,
  commOf,
  freeTcpPort,
  freeUdpPort,
  log,
  parentOf,
  rssBytes,
  rssParts,
  sleep,
  stopChild,
  udpRcvbufErrors,
  waitSipReady,
} from './procs.js';
import { generationTime, num, type Period, runSipp, SIPP, type SippResult, sippTime } from './sipp.js';
import {
  type BenchUser,
  makeUsers,
  REALM,
  writeAgentConfig,
  writeKamailioDbtext,
  writeSippUsers,
} from './users.js';
import { agentNodeFlags } from '../../agent/bin/node-flags.js';
import { agentEntryArgs } from '../lib/agent-entry.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
const KAMAILIO = '/usr/sbin/kamailio';
const SCENARIO = join(HERE, 'sipp', 'register-digest.xml');
const KAM_CFG = join(HERE, 'kamailio-registrar.cfg');

// ---------------------------------------------------------------- options
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    users: { type: 'string', default: '5000' },
    parts: { type: 'string', default: 'kamailio,agent,memory,inprocess' },
    bindings: { type: 'string' },
    'confirm-s': { type: 'string' },
    'kam-children': { type: 'string', default: '8' },
    'agent-max-pending': { type: 'string', default: '1000000' },
    work: { type: 'string' },
    'agent-cpu-prof': { type: 'boolean', default: false },
    'agent-node-args': { type: 'string', default: '' },
    fixed: { type: 'string' },
    rounds: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write(
    'node --conditions=@sipwall/source --import tsx bench/register/run.ts [--quick] [--users N] ' +
      '[--rounds N] [--parts kamailio,agent,memory,inprocess] [--bindings N] [--confirm-s S] [--kam-children N] ' +
      '[--agent-max-pending N] [--agent-cpu-prof] [--work DIR]\n',
  );
  process.exit(0);
}
const QUICK = args.quick;
const USERS = Number(args.users);
const PARTS = new Set(args.parts.split(',').map((s) => s.trim()));
const BINDINGS = Number(args.bindings ?? (QUICK ? 20_000 : 100_000));
const CONFIRM_S = Number(args['confirm-s'] ?? (QUICK ? 5 : 10));
const KAM_CHILDREN = Number(args['kam-children']);
const AGENT_MAX_PENDING = Number(args['agent-max-pending']);
const CONFIRM_TRIES = QUICK ? 3 : 4;
/**
 * Rounds of (Kamailio, agent), the order swapped every round (K A, A K, K A…), and the median
 * ratio reported: this VM switches between a fast and a slow mode for minutes at a time, and one
 * sequential pair can land its two halves in different modes (ratios 0.50–0.59 seen for the same
 * code in one hour).
 */
const ROUNDS = Number(args.rounds ?? (QUICK ? 1 : 3));
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) {
  process.stderr.write(`--rounds must be a whole number ≥ 1 (got ${JSON.stringify(args.rounds)})\n`);
  process.exit(2);
}
/** Current round (0-based), for work-file names. */
let roundIndex = 0;
/** Work-file tag of a run, with the round when there are several. */
const tagOf = (t: string) => (ROUNDS > 1 ? `r${roundIndex + 1}-${t}` : t);
/** Write a V8 CPU profile of every agent process into the work dir (node --cpu-prof). */
const AGENT_CPU_PROF = args['agent-cpu-prof'];
/** Extra node flags for the agent process (e.g. `--trace-gc`), space-separated. */
const AGENT_NODE_ARGS = args['agent-node-args'].split(' ').filter((a) => a !== '');
/** The product's V8 flags (the shebang of agent/bin/sipwall-agent.js), read once. */
const AGENT_FLAGS = agentNodeFlags();
/** Skip the ramp: one fixed-rate run at this rate per server (profiling, A/B of one rate). */
const FIXED = args.fixed === undefined ? undefined : Number(args.fixed);

type Kind = 'kamailio' | 'agent';
/** start, increase per second, max — so that the knee comes after roughly 5-15 s. */
const RAMP: Record<Kind, { start: number; step: number; max: number; guardS: number }> = QUICK
  ? {
      kamailio: { start: 6000, step: 4000, max: 60_000, guardS: 25 },
      agent: { start: 500, step: 1000, max: 40_000, guardS: 30 },
    }
  : {
      kamailio: { start: 4000, step: 2000, max: 60_000, guardS: 40 },
      agent: { start: 500, step: 500, max: 40_000, guardS: 60 },
    };

const WORK = args.work ?? mkdtempSync(join(tmpdir(), 'sipwall-bench-register-'));
mkdirSync(WORK, { recursive: true });

// ---------------------------------------------------------------- started processes
const running = new Set<ServerHandle>();

interface ServerHandle {
  readonly kind: Kind;
  readonly port: number;
  readonly child: ChildProcess;
  /** PIDs whose CPU counts as the server's (Kamailio: main + forked workers). */
  readonly pids: () => readonly number[];
  stop(): Promise<void>;
}

async function stopAll(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop()));
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping what this run started`);
    void stopAll().finally(() => process.exit(130));
  });
}

function logFd(name: string): number {
  return openSync(join(WORK, name), 'a');
}

async function startKamailio(tag: string): Promise<ServerHandle> {
  const port = await freeUdpPort();
  const run = join(WORK, `kamailio-${tag}`);
  mkdirSync(run, { recursive: true });
  const argv = [
    '-f',
    KAM_CFG,
    '-DD',
    '-E',
    '-m',
    '512',
    '-M',
    '32',
    '-P',
    join(run, 'kamailio.pid'),
    '-Y',
    run,
    '-A',
    `LISTEN=udp:127.0.0.1:${port}`,
    '-A',
    `DBTEXT_URL="text://${join(WORK, 'dbtext')}"`,
    '-A',
    `REALM="${REALM}"`,
    '-A',
    `CHILDREN=${KAM_CHILDREN}`,
  ];
  commands.kamailio = [KAMAILIO, ...argv].join(' ');
  const fd = logFd(`kamailio-${tag}.log`);
  const child = spawn(KAMAILIO, argv, { cwd: run, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (!(await waitSipReady(child, port, 15_000))) {
    await stopChild(child, 5000);
    throw new Error(`kamailio did not answer OPTIONS (see ${WORK}/kamailio-${tag}.log)`);
  }
  await sleep(300);
  const mainPid = child.pid!;
  const workers = childrenOf(mainPid).map((pid) => ({ pid, comm: commOf(pid) }));
  const handle: ServerHandle = {
    kind: 'kamailio',
    port,
    child,
    pids: () => [mainPid, ...workers.map((w) => w.pid)],
    async stop() {
      running.delete(handle);
      await stopChild(child, 10_000);
      // workers normally exit with the main process; any left over (still a child or orphan
      // of it, still kamailio) is killed one recorded PID at a time
      for (const w of workers) {
        const pp = parentOf(w.pid);
        if ((pp === mainPid || pp === 1) && commOf(w.pid) === w.comm) {
          try {
            process.kill(w.pid, 'SIGKILL');
          } catch {}
        }
      }
    },
  };
  running.add(handle);
  return handle;
}

interface AgentStart {
  readonly tag: string;
  readonly users: readonly BenchUser[];
  readonly t1Ms?: number;
  /** Preload the heap probe (IPC + --expose-gc). */
  readonly probe?: boolean;
}

async function startAgent(o: AgentStart): Promise<ServerHandle> {
  const port = await freeUdpPort();
  const adminPort = await freeTcpPort();
  const cfg = join(WORK, `agent-${o.tag}.yaml`);
  writeAgentConfig(cfg, {
    sipPort: port,
    adminPort,
    stateDir: join(WORK, `agent-state-${o.tag}`),
    users: o.users,
    maxPendingTransactions: AGENT_MAX_PENDING,
    ...(o.t1Ms === undefined ? {} : { t1Ms: o.t1Ms }),
  });
  const nodeArgs = [
    ...(o.probe ? ['--expose-gc'] : []),
    ...(AGENT_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', join(WORK, `cpu-prof-${o.tag}`)] : []),
    // The product's V8 flags, then the bench's own.
    ...AGENT_FLAGS,
    ...AGENT_NODE_ARGS,
    // The compiled agent, as shipped (bench/lib/agent-entry.ts); the memory probe is TypeScript
    // loaded into the agent, so that run takes the source through tsx.
    ...(o.probe
      ? [
          '--conditions=@sipwall/source',
          '--import',
          'tsx',
          '--import',
          join(HERE, 'heap-probe.ts'),
          'agent/src/cli.ts',
        ]
      : agentEntryArgs()),
    '--config',
    cfg,
    '--sip-port',
    String(port),
    '--admin-port',
    String(adminPort),
  ];
  commands[o.probe ? 'agentMemory' : 'agent'] = [process.execPath, ...nodeArgs].join(' ');
  const fd = logFd(`agent-${o.tag}.log`);
  const child = spawn(process.execPath, nodeArgs, {
    cwd: REPO,
    stdio: ['ignore', fd, fd, ...(o.probe ? (['ipc'] as const) : [])],
  });
  closeSync(fd);
  if (!(await waitSipReady(child, port, 45_000))) {
    await stopChild(child, 5000);
    throw new Error(`agent did not answer OPTIONS (see ${WORK}/agent-${o.tag}.log)`);
  }
  const pid = child.pid!;
  const handle: ServerHandle = {
    kind: 'agent',
    port,
    child,
    pids: () => [pid],
    async stop() {
      running.delete(handle);
      await stopChild(child, 8000);
    },
  };
  running.add(handle);
  return handle;
}

// ---------------------------------------------------------------- one SIPp run on a fresh server
const commands: Record<string, string> = {};

let users: BenchUser[] = [];
const usersCsv = join(WORK, 'users.csv');

async function startServer(kind: Kind, tag: string): Promise<ServerHandle> {
  return kind === 'kamailio' ? startKamailio(tag) : startAgent({ tag, users });
}

/** One registration with the bench's own client: does the server do 401 → 200 at all? */
async function smoke(srv: ServerHandle): Promise<RegisterOutcome> {
  return registerAll(srv.port, [{ user: users[users.length - 1]!, contactUser: 'smoke' }], 1);
}

/**
 * The same warm-up for both servers before anything is measured: 2,000 registrations with the
 * bench's own client (for the agent this gets V8's JIT past its first tiers; Kamailio needs none).
 */
async function warmUp(srv: ServerHandle): Promise<void> {
  const jobs = users.slice(0, WARMUP).map((u) => ({ user: u, contactUser: `${u.username}-warm` }));
  const w = await registerAll(srv.port, jobs, 64);
  if (w.failed > 0)
    log(`[${srv.kind}] warm-up: ${w.failed} of ${jobs.length} failed ${JSON.stringify(w.failures)}`);
}
const WARMUP = 2000;

interface FixedRun {
  target: number;
  total: number;
  pass: boolean;
  why: string[];
  successful: number;
  failed: number;
  created: number;
  retrans: number;
  achieved: number;
  failPct: number;
  retransPct: number;
  rtAvgMs: number;
  serverCpuPct: number;
  serverUsPerReg: number;
  /** The part of `serverUsPerReg` spent in the kernel (socket syscalls, loopback delivery). */
  serverSysUsPerReg: number;
  sippCpuPct: number;
  udpRcvbufDrops: number;
  wallS: number;
  sippCmd: string;
}

async function fixedRun(srv: ServerHandle, tag: string, rate: number): Promise<FixedRun> {
  const total = Math.round(rate * CONFIRM_S);
  const cpu = new CpuWindow(srv.pids);
  const drops0 = udpRcvbufErrors();
  const r = await runSipp(
    {
      scenario: SCENARIO,
      usersCsv,
      realm: REALM,
      serverPort: srv.port,
      localPort: await freeUdpPort(),
      dir: WORK,
      tag,
    },
    { mode: 'fixed', rate, total, guardS: CONFIRM_S + 20 },
  );
  const c = cpu.read();
  const last = r.rows[r.rows.length - 1];
  const successful = num(last, 'SuccessfulCall(C)');
  const failed = num(last, 'FailedCall(C)');
  const done = successful + failed;
  const retrans = num(last, 'Retransmissions(C)');
  const gen = generationTime(r.rows, total);
  const achieved = gen ? total / gen : 0;
  const failPct = done ? (100 * failed) / done : 100;
  const retransPct = done ? (100 * retrans) / done : 100;
  const why: string[] = [];
  if (r.stopReason !== 'exit') why.push(`sipp ${r.stopReason}`);
  if (done !== total) why.push(`${done}/${total} ended`);
  if (failPct >= 1) why.push(`${failPct.toFixed(2)}% failed`);
  if (retransPct > 1) why.push(`${retransPct.toFixed(2)}% retransmissions`);
  if (achieved < 0.95 * rate) why.push(`generated ${achieved.toFixed(0)}/s < 95%`);
  return {
    target: rate,
    total,
    pass: why.length === 0,
    why,
    successful,
    failed,
    created: num(last, 'TotalCallCreated'),
    retrans,
    achieved: Math.round(achieved),
    failPct: round(failPct, 3),
    retransPct: round(retransPct, 3),
    rtAvgMs: round(sippTime(last?.['ResponseTime1(C)']) * 1000, 2),
    serverCpuPct: round(c.pct, 1),
    serverUsPerReg: round((c.cpuS / Math.max(done, 1)) * 1e6, 1),
    serverSysUsPerReg: round((c.sysS / Math.max(done, 1)) * 1e6, 1),
    sippCpuPct: round((100 * r.sippCpuS) / r.wallS, 1),
    udpRcvbufDrops: udpRcvbufErrors() - drops0,
    wallS: round(r.wallS, 1),
    sippCmd: r.argv.join(' '),
  };
}

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;

/** 1234 → 1200, 15678 → 15000: two significant digits, rounded down. */
function niceFloor(x: number): number {
  if (x < 100) return Math.max(1, Math.floor(x));
  const mag = 10 ** (String(Math.floor(x)).length - 2);
  return Math.floor(x / mag) * mag;
}

/** One round: each server measured once (ramp, then confirms), on fresh processes. */
type Round = { kamailio?: ServerResult; agent?: ServerResult };

function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface ServerResult {
  kind: Kind;
  skipped?: string;
  knee?: number;
  rampStop?: string;
  rampPeriods?: Period[];
  tries: FixedRun[];
  confirmed?: FixedRun;
}

async function measure(kind: Kind): Promise<ServerResult> {
  const ramp = RAMP[kind];
  const res: ServerResult = { kind, tries: [] };
  if (FIXED !== undefined) return measureFixed(kind, FIXED, res);
  // ramp on a fresh server
  let srv = await startServer(kind, tagOf('ramp'));
  let r: SippResult;
  try {
    const s = await smoke(srv);
    if (s.ok !== 1) {
      res.skipped = `REGISTER not answered 401 → 200 (got ${JSON.stringify(s.failures)})`;
      log(`[${kind}] ${res.skipped}`);
      return res;
    }
    await warmUp(srv);
    log(`[${kind}] ramp from ${ramp.start}/s, +${ramp.step}/s each second`);
    r = await runSipp(
      {
        scenario: SCENARIO,
        usersCsv,
        realm: REALM,
        serverPort: srv.port,
        localPort: await freeUdpPort(),
        dir: WORK,
        tag: `${kind}-${tagOf('ramp')}`,
      },
      {
        mode: 'ramp',
        rate: ramp.start,
        step: ramp.step,
        maxRate: ramp.max,
        guardS: ramp.guardS,
        onPeriod: (p) =>
          log(
            `[${kind}]   t=${p.t}s target ${p.target} achieved ${p.rate.toFixed(0)}/s retrans ${p.retrans} ` +
              `failed ${p.failed} rt ${p.rtMs} ms${p.bad.length ? `  BAD: ${p.bad.join(', ')}` : ''}`,
          ),
      },
    );
  } finally {
    await srv.stop();
  }
  const knee = r.knee ?? r.periods[r.periods.length - 1]?.rate ?? ramp.start;
  res.knee = Math.round(knee);
  res.rampStop = r.stopReason;
  res.rampPeriods = r.periods;
  log(`[${kind}] knee ${res.knee}/s (${r.stopReason})`);
  // confirm at 85 % of the knee (a fast ramp overshoots), 7 % lower after a failure
  let rate = niceFloor(knee * 0.85);
  for (let i = 0; i < CONFIRM_TRIES; i++) {
    srv = await startServer(kind, tagOf(`confirm${i}`));
    let f: FixedRun;
    try {
      await warmUp(srv);
      f = await fixedRun(srv, `${kind}-${tagOf(`confirm${i}`)}`, rate);
    } finally {
      await srv.stop();
    }
    res.tries.push(f);
    log(
      `[${kind}] confirm ${rate}/s for ${CONFIRM_S}s: ${f.pass ? 'PASS' : `FAIL (${f.why.join('; ')})`} ` +
        `ok ${f.successful} failed ${f.failed} retrans ${f.retrans} generated ${f.achieved}/s ` +
        `rt ${f.rtAvgMs} ms, ${kind} CPU ${f.serverCpuPct}% (${f.serverUsPerReg} µs/reg), sipp ${f.sippCpuPct}%`,
    );
    if (f.pass) {
      res.confirmed = f;
      break;
    }
    // 7 % lower; when SIPp could not even generate the rate (responses too slow, retransmissions
    // piling up), go to 90 % of what it did generate if that is lower
    const generated = f.achieved < 0.95 * rate ? 0.9 * f.achieved : rate;
    rate = niceFloor(Math.min(rate * 0.93, generated));
  }
  return res;
}

/** `--fixed R`: one fixed-rate run on a fresh, warmed-up server, no ramp, no retries. */
async function measureFixed(kind: Kind, rate: number, res: ServerResult): Promise<ServerResult> {
  const srv = await startServer(kind, 'fixed');
  let f: FixedRun;
  try {
    await warmUp(srv);
    f = await fixedRun(srv, `${kind}-fixed`, rate);
  } finally {
    await srv.stop();
  }
  res.tries.push(f);
  if (f.pass) res.confirmed = f;
  log(
    `[${kind}] fixed ${rate}/s for ${CONFIRM_S}s: ${f.pass ? 'PASS' : `FAIL (${f.why.join('; ')})`} ` +
      `ok ${f.successful} retrans ${f.retrans} generated ${f.achieved}/s rt ${f.rtAvgMs} ms, ` +
      `${kind} CPU ${f.serverCpuPct}% (${f.serverUsPerReg} µs/reg, kernel ${f.serverSysUsPerReg}), ` +
      `sipp ${f.sippCpuPct}%`,
  );
  return res;
}

// ---------------------------------------------------------------- memory per binding
interface MemoryResult {
  bindings: number;
  users: number;
  contactsPerUser: number;
  warmBindings: number;
  heapBase: number;
  heapAfter: number;
  rssBase: number;
  rssAfter: number;
  heapPerBinding: number;
  rssPerBinding: number;
  heapTotalBase: number;
  heapTotalAfter: number;
  externalAfter: number;
  rssPartsBase: ReturnType<typeof rssParts>;
  rssPartsAfter: ReturnType<typeof rssParts>;
  fill: RegisterOutcome;
  gcExposed: boolean;
}

interface HeapReply {
  type: 'heap';
  gc: boolean;
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
  arrayBuffers: number;
}

function askHeap(child: ChildProcess): Promise<HeapReply> {
  return new Promise((resolvePromise, reject) => {
    const t = setTimeout(() => reject(new Error('heap probe did not answer')), 15_000);
    const on = (m: unknown) => {
      if ((m as { type?: string }).type !== 'heap') return;
      clearTimeout(t);
      child.off('message', on);
      resolvePromise(m as HeapReply);
    };
    child.on('message', on);
    child.send({ type: 'heap' });
  });
}

async function measureMemory(): Promise<MemoryResult> {
  const perUser = 10; // the default maxBindings of a user
  const nUsers = Math.ceil(BINDINGS / perUser);
  const memUsers = makeUsers(nUsers);
  // T1 = 50 ms → Timer J = 3.2 s: finished REGISTER transactions are gone a few seconds after
  // the last one, so what stays is the registrar's state (bindings, nonce-count entries).
  const t1Ms = 50;
  const drainMs = 64 * t1Ms + 1500;
  const jobs: RegistrationJob[] = [];
  for (let j = 0; j < BINDINGS; j++) {
    const u = memUsers[j % nUsers]!;
    jobs.push({ user: u, contactUser: `${u.username}-c${Math.floor(j / nUsers)}` });
  }
  const warm = Math.min(1000, Math.floor(BINDINGS / 10));
  log(`[memory] agent with ${nUsers} users; ${BINDINGS} bindings (${perUser} contacts per user)`);
  const srv = await startAgent({ tag: 'memory', users: memUsers, t1Ms, probe: true });
  try {
    const w = await registerAll(srv.port, jobs.slice(0, warm), 128);
    if (w.ok !== warm) throw new Error(`warm-up registrations failed: ${JSON.stringify(w.failures)}`);
    await sleep(drainMs);
    const base = await askHeap(srv.child);
    const rssBase = rssBytes(srv.child.pid!);
    const rssPartsBase = rssParts(srv.child.pid!);
    log(
      `[memory] after ${warm} bindings: heap ${mb(base.heapUsed)}, RSS ${mb(rssBase)}; registering the rest`,
    );
    const fill = await registerAll(srv.port, jobs.slice(warm), 256, (d) =>
      log(`[memory]   ${d + warm} done`),
    );
    log(
      `[memory] ${fill.ok} registered in ${fill.seconds.toFixed(1)} s (${Math.round(fill.ok / fill.seconds)}/s), ` +
        `${fill.failed} failed ${JSON.stringify(fill.failures)}, ${fill.retransmissions} retransmissions`,
    );
    await sleep(drainMs);
    const after = await askHeap(srv.child);
    const rssAfter = rssBytes(srv.child.pid!);
    const rssPartsAfter = rssParts(srv.child.pid!);
    const added = fill.ok;
    return {
      bindings: warm + fill.ok,
      users: nUsers,
      contactsPerUser: perUser,
      warmBindings: warm,
      heapBase: base.heapUsed,
      heapAfter: after.heapUsed,
      rssBase,
      rssAfter,
      heapPerBinding: Math.round((after.heapUsed - base.heapUsed) / Math.max(added, 1)),
      rssPerBinding: Math.round((rssAfter - rssBase) / Math.max(added, 1)),
      heapTotalBase: base.heapTotal,
      heapTotalAfter: after.heapTotal,
      externalAfter: after.external,
      rssPartsBase,
      rssPartsAfter,
      fill,
      gcExposed: after.gc,
    };
  } finally {
    await srv.stop();
  }
}

const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;

function inProcess(): { bytesPerBinding: number; bindings: number } | string {
  const script = 'agent/test/registrar/memory-per-binding.ts';
  if (!existsSync(join(REPO, script))) return `${script} not found`;
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', '--conditions=@sipwall/source', '--import', 'tsx', script, String(BINDINGS)],
    { cwd: REPO, encoding: 'utf8', timeout: 180_000 },
  );
  const line = r.stdout?.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as { bytesPerBinding: number; bindings: number };
  } catch {
    return `failed: ${(r.stderr ?? '').slice(-300)}`;
  }
}

// ---------------------------------------------------------------- main
function versionLine(cmd: string, argv: string[], re: RegExp): string {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 10_000 });
  const text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  return (
    text
      .split('\n')
      .find((l) => re.test(l))
      ?.trim() ?? 'n/a'
  );
}

async function main(): Promise<void> {
  const started = new Date();
  const t0 = performance.now();
  const la0 = loadavg();
  if ((PARTS.has('kamailio') && !existsSync(KAMAILIO)) || !existsSync(SIPP)) {
    log(
      `needs ${KAMAILIO} and ${SIPP}: apt-get install -y kamailio sip-tester ` +
        '(with a policy-rc.d that exits 101 so the package does not start its service)',
    );
    process.exitCode = 1;
    return;
  }
  const meta = {
    date: started.toISOString(),
    loadavgAtStart: la0.map((x) => round(x, 2)),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    node: process.version,
    kamailio: versionLine(KAMAILIO, ['-v'], /^version:/),
    sipp: versionLine(SIPP, ['-v'], /SIPp v/),
    users: USERS,
    confirmS: CONFIRM_S,
    kamailioChildren: KAM_CHILDREN,
    agentMaxPendingTransactions: AGENT_MAX_PENDING,
    quick: QUICK,
    work: WORK,
  };
  log(
    `bench/register ${meta.date}, load ${meta.loadavgAtStart.join(' ')}, ${meta.cpus} CPUs; ` +
      `${USERS} users; work dir ${WORK}`,
  );
  users = makeUsers(USERS);
  writeSippUsers(usersCsv, users);
  writeKamailioDbtext(join(WORK, 'dbtext'), users);

  const results: { rounds: Round[]; memory?: MemoryResult | string } = { rounds: [] };
  let inproc: ReturnType<typeof inProcess> | undefined;
  try {
    for (roundIndex = 0; roundIndex < (FIXED === undefined ? ROUNDS : 1); roundIndex++) {
      const one: Round = {};
      const order =
        roundIndex % 2 === 0 ? (['kamailio', 'agent'] as const) : (['agent', 'kamailio'] as const);
      for (const kind of order) {
        if (!PARTS.has(kind)) continue;
        if (ROUNDS > 1) log(`[round ${roundIndex + 1}/${ROUNDS}] ${kind}`);
        try {
          one[kind] = await measure(kind);
        } catch (e) {
          log(`[${kind}] failed: ${(e as Error).message}`);
          one[kind] = { kind, skipped: (e as Error).message, tries: [] };
        }
      }
      results.rounds.push(one);
    }
    if (PARTS.has('memory')) {
      try {
        results.memory = await measureMemory();
      } catch (e) {
        results.memory = (e as Error).message;
        log(`[memory] failed: ${results.memory}`);
      }
    }
    if (PARTS.has('inprocess')) {
      log('[memory] in-process store figure (agent/test/registrar/memory-per-binding.ts)');
      inproc = inProcess();
    }
  } finally {
    await stopAll();
  }
  const la1 = loadavg();
  const seconds = round((performance.now() - t0) / 1000, 1);
  writeFileSync(
    join(WORK, 'results.json'),
    `${JSON.stringify({ meta: { ...meta, loadavgAtEnd: la1, seconds }, commands, results, inproc }, null, 1)}\n`,
  );

  // ---- table
  const out: string[] = [];
  out.push(
    `bench/register  ${meta.date}  load ${la0.map((x) => x.toFixed(2)).join(' ')} → ${la1
      .map((x) => x.toFixed(2))
      .join(' ')}  ${meta.cpus} CPUs  ${USERS} users  confirm ${CONFIRM_S} s  (${seconds} s)`,
  );
  out.push(`${meta.kamailio}; ${meta.sipp}; node ${meta.node}`);
  out.push('');
  out.push(
    `${'server'.padEnd(10)}${'knee'.padStart(8)}${'confirmed reg/s'.padStart(17)}${'server CPU'.padStart(12)}` +
      `${'µs CPU/reg'.padStart(12)}${'SIPp CPU'.padStart(10)}${'fail %'.padStart(8)}${'retr %'.padStart(8)}` +
      `${'rt ms'.padStart(8)}`,
  );
  const ratios: number[] = [];
  const confirmedOf = (kind: Kind) =>
    results.rounds.flatMap((r) => {
      const target = r[kind]?.confirmed?.target;
      return target === undefined ? [] : [target];
    });
  for (const [i, one] of results.rounds.entries()) {
    for (const kind of ['kamailio', 'agent'] as const) {
      const r = one[kind];
      if (r === undefined) continue;
      const c = r.confirmed;
      const name = (ROUNDS > 1 ? `${kind} #${i + 1}` : kind).padEnd(12);
      if (r.skipped !== undefined) out.push(`${name}  skipped: ${r.skipped}`);
      else if (c === undefined) out.push(`${name}${String(r.knee).padStart(6)}  no confirmed rate`);
      else
        out.push(
          `${name}${String(r.knee).padStart(6)}${String(c.target).padStart(17)}` +
            `${`${c.serverCpuPct}%`.padStart(12)}${String(c.serverUsPerReg).padStart(12)}` +
            `${`${c.sippCpuPct}%`.padStart(10)}${String(c.failPct).padStart(8)}${String(c.retransPct).padStart(8)}` +
            `${String(c.rtAvgMs).padStart(8)}`,
        );
    }
    const k = one.kamailio?.confirmed?.target;
    const a = one.agent?.confirmed?.target;
    if (k !== undefined && a !== undefined) {
      ratios.push(a / k);
      if (ROUNDS > 1) out.push(`  round ${i + 1} ratio agent/kamailio: ${(a / k).toFixed(2)}`);
    }
  }
  if (ratios.length > 0) {
    const rs = ratios.map((r) => r.toFixed(2)).join(', ');
    out.push(
      `ratio agent/kamailio: ${median(ratios).toFixed(2)}${ratios.length > 1 ? ` (median of ${rs})` : ''}  ` +
        `(target ≥ 0.50); median confirmed: kamailio ${median(confirmedOf('kamailio'))}/s, agent ` +
        `${median(confirmedOf('agent'))}/s`,
    );
  }
  const agentRates = confirmedOf('agent');
  const a = agentRates.length === 0 ? undefined : median(agentRates);
  if (a !== undefined) {
    const held = a * 32;
    out.push(
      `note: at ${a} reg/s the agent holds ~${held.toLocaleString('en')} answered REGISTER transactions ` +
        `(the 200's; 401s are stateless; Timer J = 64×T1 = 32 s). They no longer count toward ` +
        `sip.limits.maxPendingTransactions (only unanswered ones do); the table's hard cap is 10× it ` +
        `(this run: ${AGENT_MAX_PENDING.toLocaleString('en')})`,
    );
  }
  out.push('');
  const m = results.memory;
  if (typeof m === 'string') out.push(`memory: failed: ${m}`);
  else if (m !== undefined)
    out.push(
      `memory at ${m.bindings.toLocaleString('en')} bindings (${m.users} users × ${m.contactsPerUser}, real SIP ` +
        `through the agent): heap ${m.heapPerBinding} B/binding, RSS ${m.rssPerBinding} B/binding ` +
        `(target < 2048)\n  heap used after full GC ${mb(m.heapBase)} → ${mb(m.heapAfter)}; V8 heap reserved ` +
        `${mb(m.heapTotalBase)} → ${mb(m.heapTotalAfter)}; RSS ${mb(m.rssBase)} → ${mb(m.rssAfter)} ` +
        `(RSS keeps the heap's high-water mark from the fill); filled at ${Math.round(m.fill.ok / m.fill.seconds)}/s`,
    );
  if (inproc !== undefined)
    out.push(
      typeof inproc === 'string'
        ? `in-process store: ${inproc}`
        : `in-process store (agent/test/registrar/memory-per-binding.ts, ${inproc.bindings.toLocaleString('en')} ` +
            `bindings): ${inproc.bytesPerBinding} B/binding (heap)`,
    );
  out.push(`details: ${join(WORK, 'results.json')}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

await main().catch(async (e: unknown) => {
  log(`bench/register failed: ${(e as Error).stack ?? String(e)}`);
  await stopAll();
  process.exitCode = 1;
});
