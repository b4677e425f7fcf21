/**
 * bench/media — RTP packets per second forwarded across a firewall namespace, four ways in one run:
 *
 *  - plain:     the lab's fw namespace as it is: routing, conntrack, masquerade lan → wan, the lab's
 *               forward filter; no pinhole logic (the phone sends to the peer's own address);
 *  - kernel:    the agent's nftables pinhole driver (`probeNftables`, used as a library in
 *               `fw-worker.ts` inside fw): one `open` per call (RTP + RTCP pinholes), then media is
 *               DNATed/SNATed by the kernel (phone → fw inside port → peer, and back);
 *  - relay:     the agent's user-space `RelayPinholeDriver`, same calls, same addresses;
 *  - rtpengine: Debian's rtpengine (userspace, `--table=-1`) in fw with an inside and an outside
 *               interface, calls set up over its ng protocol (offer/answer from `fw-worker.ts`).
 *
 * Plus the kernel driver's pinhole open+close: one call's two pinholes opened and closed N times
 * (with the bench's calls open), operations per second and p50/p99.
 *
 *   node --conditions=@sipwall/source --import tsx bench/media/run.ts [options]
 *   npm run bench:media -w @sipwall/bench -- [options]
 *
 * Traffic: `rtp-pump.c` (built with gcc into the work dir), one process whose sockets live in `lan`
 * (the phones' side) and `wan` (the peers' side): per call one endpoint each side, 172-byte RTP both
 * ways, paced in 1-ms ticks with sendmmsg, counted on arrival; steps of rising rates, each
 * `--step-sec` long; a step is good with ≤ `--max-loss` % lost. The figure per case is the highest
 * received rate of a good step. On veth pairs the kernel forwards in the sender's context (softirq),
 * so for plain and kernel the pump's own CPU carries the forwarding too, and when the pump cannot
 * send faster (two steps below 90 % of the asked rate) that is the forwarding path's capacity on
 * this core; the µs per packet of the pump then shows what the pinhole rules add per packet.
 *
 * Each case gets a fresh lab (`infra/lab/lab.ts`, unique names, removed at the end, on Ctrl-C too).
 * plain and kernel run `--rounds` times in alternating order (this VM has fast and slow phases);
 * their figures are medians. Last line of stdout:
 * `media: kernel_pps=A plain_pps=B relay_pps=C rtpengine_pps=D pinhole_p99_ms=E`.
 *
 * Options: --calls N (200), --rounds N (3), --cases plain,kernel,relay,rtpengine, --step-sec S
 * (1.5), --rates r1,r2,… (packets/s, both directions together), --max-loss P (1), --op-iterations
 * N (2000), --budget-sec S (270: no new round past it), --work DIR.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  freshLab,
  LAB_ADDR,
  type Lab,
  labDown,
  labProblem,
  onSignalTearDown,
  spawnLogged,
  stopProcess,
} from '../lib/lab-run.js';
import { CLK_TCK, log, procTicks, sleep } from '../register/procs.js';
import { agentNodeFlags } from '../../agent/bin/node-flags.js';
import type { WorkerSetup } from './fw-worker.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
const RTPENGINE = '/usr/bin/rtpengine';
const CASES = ['plain', 'kernel', 'relay', 'rtpengine'] as const;
type Case = (typeof CASES)[number];

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '3' },
    cases: { type: 'string', default: CASES.join(',') },
    'step-sec': { type: 'string', default: '1.5' },
    rates: {
      type: 'string',
      default: '20000,40000,60000,80000,100000,125000,150000,175000,200000,250000,300000,400000',
    },
    'max-loss': { type: 'string', default: '1' },
    'op-iterations': { type: 'string', default: '2000' },
    'budget-sec': { type: 'string', default: '270' },
    work: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write(
    'node --conditions=@sipwall/source --import tsx bench/media/run.ts [--calls N] [--rounds N] ' +
      '[--cases plain,kernel,relay,rtpengine] [--step-sec S] [--rates r1,r2,…] [--max-loss P] ' +
      '[--op-iterations N] [--budget-sec S] [--work DIR]\n',
  );
  process.exit(0);
}
function numArg(name: string, v: string | undefined, min: number, int = true): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || (int && !Number.isInteger(n))) {
    process.stderr.write(
      `--${name} must be a ${int ? 'whole ' : ''}number ≥ ${min} (got ${JSON.stringify(v)})\n`,
    );
    process.exit(2);
  }
  return n;
}
const CALLS = numArg('calls', args.calls, 1);
const ROUNDS = numArg('rounds', args.rounds, 1);
const STEP_S = numArg('step-sec', args['step-sec'], 0.2, false);
const MAX_LOSS = numArg('max-loss', args['max-loss'], 0, false);
const OP_ITERATIONS = numArg('op-iterations', args['op-iterations'], 0);
const BUDGET_S = numArg('budget-sec', args['budget-sec'], 0);
const RATES = args.rates.split(',').map((r) => numArg('rates', r, 1));
const WANTED = new Set(args.cases.split(',').map((s) => s.trim()));
for (const c of WANTED)
  if (!(CASES as readonly string[]).includes(c)) {
    process.stderr.write(`--cases: unknown case ${JSON.stringify(c)} (${CASES.join(', ')})\n`);
    process.exit(2);
  }
if (CALLS > 1000) {
  process.stderr.write('--calls: at most 1000 (ports)\n');
  process.exit(2);
}

const WORK = args.work ?? mkdtempSync(join(tmpdir(), 'sipwall-bench-media-'));
mkdirSync(WORK, { recursive: true });
/** The media range in fw: the bench's calls from its bottom, the open/close loop above them. */
const PORT_MIN = 30000;
const PORT_MAX = 39999;
const PHONE = LAB_ADDR.phones[0];
const PEER = LAB_ADDR.peers[0];
const PHONE_PORT0 = 40000;
const PEER_PORT0 = 44000;
const NG_PORT = 2223;

// ---------------------------------------------------------------- processes of the current case
const live = new Set<ChildProcess>();
async function stopLive(): Promise<void> {
  await Promise.all([...live].map((c) => stopProcess(c)));
  live.clear();
}
onSignalTearDown(stopLive);

function buildPump(): string {
  const src = join(HERE, 'rtp-pump.c');
  const exe = join(WORK, 'rtp-pump');
  const r = spawnSync('gcc', ['-O2', '-Wall', '-o', exe, src], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`gcc ${src}: ${r.stderr || r.error?.message}`);
  return exe;
}

/** JSON lines from a child's stdout, one at a time. */
class Lines {
  private readonly queue: string[] = [];
  private wake: (() => void) | undefined;
  private closed = false;
  constructor(child: ChildProcess) {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (l) => {
      this.queue.push(l);
      this.wake?.();
    });
    rl.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
  }
  async next(ms: number): Promise<string | undefined> {
    const deadline = Date.now() + ms;
    while (this.queue.length === 0 && !this.closed && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const timer = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.wake = () => {
          clearTimeout(timer);
          r();
        };
      });
      this.wake = undefined;
    }
    return this.queue.shift();
  }
}

interface Worker {
  readonly child: ChildProcess;
  readonly endpoints: [number, string, number, string, number][];
  call(cmd: object, ms: number): Promise<unknown>;
}

async function startWorker(lab: Lab, mode: 'kernel' | 'relay' | 'rtpengine', tag: string): Promise<Worker> {
  const setup: WorkerSetup = {
    calls: CALLS,
    fwIn: LAB_ADDR.fwInside,
    fwOut: LAB_ADDR.fwOutside,
    phone: PHONE,
    phonePort0: PHONE_PORT0,
    peer: PEER,
    peerPort0: PEER_PORT0,
    portMin: PORT_MIN,
    portMax: PORT_MAX,
    ngPort: NG_PORT,
  };
  const child = spawnLogged(
    lab,
    'fw',
    process.execPath,
    [
      // the driver runs in the agent with the agent's V8 flags (heap sizing shapes its tail)
      ...agentNodeFlags(),
      '--conditions=@sipwall/source',
      '--import',
      'tsx',
      join(HERE, 'fw-worker.ts'),
      mode,
      JSON.stringify(setup),
    ],
    join(WORK, `${tag}-worker.log`),
    { cwd: REPO, stdin: true, stdout: 'pipe' },
  );
  live.add(child);
  const lines = new Lines(child);
  const first = await lines.next(60_000);
  const ready = first === undefined ? undefined : (JSON.parse(first) as { ready: boolean; reason?: string });
  if (ready?.ready !== true) {
    throw new Error(
      `fw-worker (${mode}) not ready: ${ready?.reason ?? 'no answer'} (see ${WORK}/${tag}-worker.log)`,
    );
  }
  return {
    child,
    endpoints: (ready as unknown as { endpoints: Worker['endpoints'] }).endpoints,
    async call(cmd, ms) {
      child.stdin!.write(`${JSON.stringify(cmd)}\n`);
      const line = await lines.next(ms);
      if (line === undefined) throw new Error(`fw-worker: no answer to ${JSON.stringify(cmd)}`);
      const r = JSON.parse(line) as { ok: boolean; result?: unknown; error?: string };
      if (!r.ok) throw new Error(`fw-worker: ${r.error}`);
      return r.result;
    },
  };
}

async function stopWorker(w: Worker): Promise<void> {
  try {
    await w.call({ op: 'exit' }, 10_000);
  } catch {}
  await stopProcess(w.child);
  live.delete(w.child);
}

async function startRtpengine(lab: Lab, tag: string): Promise<ChildProcess> {
  const argv = [
    '--config-file=none',
    '--foreground',
    '--log-stderr',
    '--table=-1',
    `--interface=in/${LAB_ADDR.fwInside}`,
    `--interface=out/${LAB_ADDR.fwOutside}`,
    `--listen-ng=127.0.0.1:${NG_PORT}`,
    `--port-min=${PORT_MIN}`,
    `--port-max=${PORT_MAX}`,
    '--delete-delay=0',
    '--log-level=4',
    '--num-threads=2',
  ];
  commands.rtpengine = `ip netns exec <fw> ${RTPENGINE} ${argv.join(' ')}`;
  const child = spawnLogged(lab, 'fw', RTPENGINE, argv, join(WORK, `${tag}-rtpengine.log`));
  live.add(child);
  await sleep(500);
  if (child.exitCode !== null)
    throw new Error(`rtpengine exited at start (see ${WORK}/${tag}-rtpengine.log)`);
  return child;
}

// ---------------------------------------------------------------- one pump run
interface Step {
  rate: number;
  sent: number;
  recv: number;
  recv0: number;
  recv1: number;
  sendfail: number;
  /** Packets of an earlier step that arrived during this one (not counted in `recv`). */
  late: number;
  sendPps: number;
  recvPps: number;
  lossPct: number;
  /** The pump's CPU per received packet (for plain/kernel it carries the kernel's forwarding). */
  pumpUsPerPkt: number;
  pumpSysUsPerPkt: number;
  /** The forwarder process's CPU over the step (relay worker, rtpengine), % of one core. */
  forwarderCpuPct?: number;
  forwarderUsPerPkt?: number;
}

interface CaseResult {
  kind: Case;
  round: number;
  warmup?: string;
  steps: Step[];
  best?: Step;
  /** The best step's rate could not be generated in full: the sending side (incl. forwarding) was the limit. */
  generatorLimited?: boolean;
  stop?: string;
  error?: string;
  driverCounters?: unknown;
  opbench?: OpBench;
  seconds?: number;
}

interface OpBench {
  iterations: number;
  perSec: number;
  openCloseUs: { p50: number; p90: number; p99: number; max: number };
  openUs: { p50: number; p99: number };
  closeUs: { p50: number; p99: number };
}

const kv = (line: string): Record<string, number> =>
  Object.fromEntries(
    line
      .split(' ')
      .slice(1)
      .map((p) => p.split('='))
      .map(([k, v]) => [k!, Number(v)]),
  );

async function pump(
  lab: Lab,
  exe: string,
  tag: string,
  endpoints: readonly (readonly [number, string, number, string, number])[],
  forwarderPid: number | undefined,
  res: CaseResult,
): Promise<void> {
  const nsFile = (side: number) => `/run/netns/${side === 0 ? lab.ns.lan : lab.ns.wan}`;
  const map = join(WORK, `${tag}-endpoints.txt`);
  writeFileSync(
    map,
    `${endpoints.map(([s, ip, p, dip, dp]) => `${nsFile(s)} ${ip} ${p} ${dip} ${dp} ${s}`).join('\n')}\n`,
  );
  const maxS = Math.ceil(RATES.length * (STEP_S + 0.4) + 5);
  const argv = [map, String(STEP_S), String(MAX_LOSS), String(maxS), ...RATES.map(String)];
  commands.pump = `${exe} ${argv.join(' ')}`;
  const child = spawnLogged(lab, 'lan', exe, argv, join(WORK, `${tag}-pump.log`), { stdout: 'pipe' });
  live.add(child);
  const lines = new Lines(child);
  let fwTicks = forwarderPid === undefined ? 0 : procTicks(forwarderPid);
  let tLast = performance.now();
  const guard = Date.now() + (maxS + 15) * 1000;
  try {
    for (;;) {
      const line = await lines.next(Math.max(1, guard - Date.now()));
      if (line === undefined) break;
      if (line.startsWith('warmup')) {
        res.warmup = line;
        const w = kv(line);
        log(`[${res.kind}] ${line}`);
        if ((w.recv0 ?? 0) === 0 || (w.recv1 ?? 0) === 0)
          log(`[${res.kind}]   WARNING: one direction received nothing in the warm-up`);
        fwTicks = forwarderPid === undefined ? 0 : procTicks(forwarderPid);
        tLast = performance.now();
      } else if (line.startsWith('step')) {
        const s = kv(line);
        const now = performance.now();
        const step: Step = {
          rate: s.rate!,
          sent: s.sent!,
          recv: s.recv!,
          recv0: s.recv0!,
          recv1: s.recv1!,
          sendfail: s.sendfail!,
          late: s.late ?? 0,
          sendPps: s.send_pps!,
          recvPps: s.recv_pps!,
          lossPct: s.loss_pct!,
          pumpUsPerPkt: round(s.cpu_us! / Math.max(s.recv!, 1), 3),
          pumpSysUsPerPkt: round(s.sys_us! / Math.max(s.recv!, 1), 3),
        };
        if (forwarderPid !== undefined) {
          const ticks = procTicks(forwarderPid);
          const cpuS = (ticks - fwTicks) / CLK_TCK;
          step.forwarderCpuPct = round((100 * cpuS) / ((now - tLast) / 1000), 1);
          step.forwarderUsPerPkt = round((cpuS * 1e6) / Math.max(s.recv!, 1), 2);
          fwTicks = ticks;
        }
        tLast = now;
        res.steps.push(step);
        log(
          `[${res.kind}]   asked ${step.rate}/s: sent ${step.sendPps}/s received ${step.recvPps}/s loss ${step.lossPct}%` +
            `${step.late > 0 ? ` (${step.late} late from the step before)` : ''} ` +
            `pump ${step.pumpUsPerPkt} µs/pkt${step.forwarderCpuPct === undefined ? '' : `, forwarder CPU ${step.forwarderCpuPct}% (${step.forwarderUsPerPkt} µs/pkt)`}`,
        );
      } else if (line.startsWith('stop')) {
        res.stop = line.slice(5);
      }
    }
  } finally {
    await stopProcess(child, 2000);
    live.delete(child);
  }
  const good = res.steps.filter((s) => s.lossPct <= MAX_LOSS);
  const best = good.reduce<Step | undefined>(
    (b, s) => (b === undefined || s.recvPps > b.recvPps ? s : b),
    undefined,
  );
  if (best !== undefined) {
    res.best = best;
    res.generatorLimited = best.sendPps < 0.95 * best.rate;
  }
}

// ---------------------------------------------------------------- one case
async function runCase(kind: Case, roundNo: number, exe: string): Promise<CaseResult> {
  const res: CaseResult = { kind, round: roundNo, steps: [] };
  const tag = `${kind}-r${roundNo}`;
  const t0 = performance.now();
  const lab = await freshLab();
  try {
    log(`[${kind}] round ${roundNo}: lab ${lab.prefix}`);
    if (kind === 'plain') {
      // the phone sends to the peer itself; the peer answers the masqueraded source (fw outside, same port)
      const eps: [number, string, number, string, number][] = [];
      for (let i = 0; i < CALLS; i++) {
        eps.push([0, PHONE, PHONE_PORT0 + 2 * i, PEER, PEER_PORT0 + 2 * i]);
        eps.push([1, PEER, PEER_PORT0 + 2 * i, LAB_ADDR.fwOutside, PHONE_PORT0 + 2 * i]);
      }
      await pump(lab, exe, tag, eps, undefined, res);
    } else {
      const rtp = kind === 'rtpengine' ? await startRtpengine(lab, tag) : undefined;
      const w = await startWorker(lab, kind, tag);
      try {
        if (kind === 'kernel' && OP_ITERATIONS > 0 && roundNo === 1) {
          res.opbench = (await w.call({ op: 'opbench', iterations: OP_ITERATIONS }, 120_000)) as OpBench;
          const o = res.opbench;
          log(
            `[kernel] pinhole open+close (RTP+RTCP of one call, ${o.iterations}×, ${CALLS} calls open): ` +
              `${o.perSec}/s, p50 ${o.openCloseUs.p50} µs, p99 ${o.openCloseUs.p99} µs, max ${o.openCloseUs.max} µs ` +
              `(open p99 ${o.openUs.p99}, close p99 ${o.closeUs.p99})`,
          );
        }
        const fwPid = kind === 'relay' ? w.child.pid : rtp?.pid;
        await pump(lab, exe, tag, w.endpoints, fwPid, res);
        if (kind !== 'rtpengine')
          res.driverCounters = await w.call({ op: 'counters' }, 20_000).catch(() => undefined);
      } finally {
        await stopWorker(w);
        if (rtp !== undefined) {
          await stopProcess(rtp);
          live.delete(rtp);
        }
      }
    }
  } catch (e) {
    res.error = e instanceof Error ? e.message : String(e);
    log(`[${kind}] failed: ${res.error}`);
  } finally {
    await stopLive();
    await labDown();
  }
  res.seconds = round((performance.now() - t0) / 1000, 1);
  const b = res.best;
  log(
    `[${kind}] round ${roundNo}: ${b === undefined ? 'no good step' : `${b.recvPps} pkt/s${res.generatorLimited ? ' (sender-limited)' : ''}, loss ${b.lossPct}%`} (${res.seconds} s)`,
  );
  return res;
}

// ---------------------------------------------------------------- main
const commands: Record<string, string> = {};
const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length === 0 ? 0 : s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  const started = new Date();
  const t0 = performance.now();
  const la0 = loadavg();
  const problem =
    labProblem() ??
    (WANTED.has('rtpengine') && !existsSync(RTPENGINE)
      ? `needs ${RTPENGINE} (apt-get install rtpengine-daemon)`
      : undefined);
  if (problem !== undefined) {
    log(`bench/media cannot run here: ${problem}`);
    process.stdout.write('media: kernel_pps=0 plain_pps=0 relay_pps=0 rtpengine_pps=0 pinhole_p99_ms=0\n');
    process.exitCode = 1;
    return;
  }
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' });
  const rtpVersion = spawnSync(RTPENGINE, ['--version'], { encoding: 'utf8' });
  const meta = {
    date: started.toISOString(),
    commit: git.stdout?.trim() || 'n/a',
    loadavgAtStart: la0.map((x) => round(x, 2)),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    node: process.version,
    rtpengine: `${rtpVersion.stdout ?? ''}${rtpVersion.stderr ?? ''}`.match(/Version: (\S+)/)?.[1] ?? 'n/a',
    calls: CALLS,
    rounds: ROUNDS,
    stepS: STEP_S,
    rates: RATES,
    maxLossPct: MAX_LOSS,
    packetBytes: 172,
    work: WORK,
  };
  log(
    `bench/media ${meta.date} at ${meta.commit}, load ${meta.loadavgAtStart.join(' ')}, ${meta.cpus} CPUs, kernel ${meta.kernel}; ` +
      `${CALLS} calls, ${ROUNDS} round(s), steps of ${STEP_S} s; work dir ${WORK}`,
  );
  const exe = buildPump();
  const results: CaseResult[] = [];
  let longestRound = 0;
  let stoppedEarly: string | undefined;
  try {
    for (let r = 1; r <= ROUNDS; r++) {
      const elapsed = (performance.now() - t0) / 1000;
      if (r > 1 && elapsed + longestRound > BUDGET_S) {
        stoppedEarly = `round ${r} not started: ${elapsed.toFixed(0)} s elapsed + ${longestRound.toFixed(0)} s per round > budget ${BUDGET_S} s`;
        log(stoppedEarly);
        break;
      }
      const tr = performance.now();
      const pair: Case[] = r % 2 === 1 ? ['plain', 'kernel'] : ['kernel', 'plain'];
      const order: Case[] = r === 1 ? [...pair, 'relay', 'rtpengine'] : pair;
      for (const kind of order) if (WANTED.has(kind)) results.push(await runCase(kind, r, exe));
      // rounds after the first hold only plain + kernel: the budget is judged on those
      const tRound = (performance.now() - tr) / 1000;
      longestRound = Math.max(
        longestRound,
        r === 1
          ? results
              .filter((x) => x.kind === 'plain' || x.kind === 'kernel')
              .reduce((a, x) => a + (x.seconds ?? 0), 0)
          : tRound,
      );
    }
  } finally {
    await stopLive();
    await labDown();
  }
  const la1 = loadavg();
  const seconds = round((performance.now() - t0) / 1000, 1);
  writeFileSync(
    join(WORK, 'results.json'),
    `${JSON.stringify({ meta: { ...meta, loadavgAtEnd: la1, seconds, stoppedEarly }, commands, results }, null, 1)}\n`,
  );

  // ---- table
  const pps = (k: Case) =>
    results.filter((r) => r.kind === k && r.best !== undefined).map((r) => r.best!.recvPps);
  const out: string[] = [];
  out.push(
    `bench/media  ${meta.date}  ${meta.commit}  load ${la0.map((x) => x.toFixed(2)).join(' ')} → ${la1
      .map((x) => x.toFixed(2))
      .join(' ')}  ${meta.cpus} CPUs  kernel ${meta.kernel}  (${seconds} s)`,
  );
  out.push(
    `${CALLS} calls, 172-byte RTP both ways lan ↔ fw ↔ wan (veth), steps of ${STEP_S} s, good step ≤ ${MAX_LOSS}% loss; rtpengine ${meta.rtpengine}; node ${meta.node}`,
  );
  out.push('');
  out.push(
    `${'case'.padEnd(14)}${'forwarded pkt/s'.padStart(17)}${'loss %'.padStart(8)}${'pump µs/pkt'.padStart(13)}` +
      `${'forwarder CPU'.padStart(15)}${'fwd µs/pkt'.padStart(12)}  note`,
  );
  for (const r of results) {
    const name = (
      ROUNDS > 1 && (r.kind === 'plain' || r.kind === 'kernel') ? `${r.kind} #${r.round}` : r.kind
    ).padEnd(14);
    const b = r.best;
    if (b === undefined) {
      out.push(`${name} FAILED: ${r.error ?? 'no step with acceptable loss'}`);
      continue;
    }
    out.push(
      `${name}${`${r.generatorLimited ? '≥' : ''}${b.recvPps.toLocaleString('en-US')}`.padStart(17)}` +
        `${String(b.lossPct).padStart(8)}${String(b.pumpUsPerPkt).padStart(13)}` +
        `${(b.forwarderCpuPct === undefined ? '(in pump)' : `${b.forwarderCpuPct}%`).padStart(15)}` +
        `${String(b.forwarderUsPerPkt ?? '-').padStart(12)}  ${r.generatorLimited ? 'sender+forwarding path saturated' : `asked ${b.rate}/s`}`,
    );
  }
  const kernel = median(pps('kernel'));
  const plain = median(pps('plain'));
  const relay = median(pps('relay'));
  const rtpengine = median(pps('rtpengine'));
  const op = results.find((r) => r.opbench !== undefined)?.opbench;
  out.push('');
  if (plain > 0 && kernel > 0)
    out.push(
      `kernel pinholes / plain forwarding: ${(kernel / plain).toFixed(3)} (medians of ${pps('kernel').length} and ${pps('plain').length} runs; target ≥ 0.90)`,
    );
  if (op !== undefined)
    out.push(
      `pinhole open+close (kernel driver, one call = RTP + RTCP pinholes, ${op.iterations}×): ${op.perSec.toLocaleString('en-US')}/s, ` +
        `p50 ${(op.openCloseUs.p50 / 1000).toFixed(3)} ms, p90 ${(op.openCloseUs.p90 / 1000).toFixed(3)} ms, p99 ${(op.openCloseUs.p99 / 1000).toFixed(3)} ms ` +
        `(open p99 ${(op.openUs.p99 / 1000).toFixed(3)}, close p99 ${(op.closeUs.p99 / 1000).toFixed(3)}; target p99 < 1 ms)`,
    );
  if (stoppedEarly) out.push(stoppedEarly);
  out.push(`details: ${join(WORK, 'results.json')}`);
  out.push(
    `media: kernel_pps=${Math.round(kernel)} plain_pps=${Math.round(plain)} relay_pps=${Math.round(relay)} ` +
      `rtpengine_pps=${Math.round(rtpengine)} pinhole_p99_ms=${op === undefined ? 0 : (op.openCloseUs.p99 / 1000).toFixed(3)}`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
  if ([...WANTED].some((k) => pps(k as Case).length === 0)) process.exitCode = 1;
}

await main().catch(async (e: unknown) => {
  log(`bench/media failed: ${(e as Error).stack ?? String(e)}`);
  await stopLive();
  await labDown().catch(() => {});
  process.stdout.write('media: kernel_pps=0 plain_pps=0 relay_pps=0 rtpengine_pps=0 pinhole_p99_ms=0\n');
  process.exitCode = 1;
});
