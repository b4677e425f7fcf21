/**
 * bench/proxy — calls per second through the agent as a stateful, record-routing SIP proxy,
 * driven by SIPp, next to Kamailio (Debian package) doing the same job in the same run.
 *
 *   node --conditions=@sipwall/source --import tsx bench/proxy/run.ts [options]
 *   npm run bench:proxy -w @sipwall/bench -- [options]
 *
 * The call: INVITE (SDP) → 100 → 180 → 200 (SDP) → ACK → BYE → 200. SIPp's UAC on 127.0.0.1
 * sends `INVITE sip:service@127.0.0.3:<uas port>` to the proxy's inside socket (127.0.0.1); the
 * proxy relays it out of its outside socket (127.0.0.2) to SIPp's UAS on 127.0.0.3 (a foreign
 * IP target: routed by the Request-URI's host), record-routing; ACK and BYE follow the route set.
 *
 * Options: --rounds N (3: both servers N times, order swapped each round, median ratio),
 * --parts kamailio,agent, --confirm-sec S (10), --tries N (3 confirm tries), --budget-sec S
 * (540: no new round starts when the longest round so far would end past it),
 * --ref-rate R (500 calls/s, 0 = none) and --ref-sec S (5): one run per server at that fixed
 * rate in round 1, for CPU per call at equal load; --kam-children N (8), --warmup-calls N
 * (1500), --fixed R (one fixed-rate run per server, no ramp), --agent-cpu-prof,
 * --agent-node-args "…", --work DIR.
 *
 * Progress goes to stderr, the table to stdout, every detail to <work>/results.json. The last
 * line of stdout is `proxy: agent_cps=A kamailio_cps=B ratio=R` (0 for a server that carried no
 * call at a confirmed rate). Everything is on 127.0.0.x. Only processes this script spawned are
 * signalled, by PID (Kamailio's forked workers: by the PIDs recorded at start, still children).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type CallBenchContext,
  kamailioHandle,
  runCallBench,
  type ServerHandle,
  versionLine,
} from '../lib/call-bench.js';
import { UAS_ADDR } from '../lib/sipp-call.js';
import { freeTcpPort, freeUdpPort, sleep, stopChild, waitSipReady } from '../register/procs.js';
import { SIPP } from '../register/sipp.js';
import { agentEntryArgs } from '../lib/agent-entry.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
const KAMAILIO = '/usr/sbin/kamailio';
const KAM_CFG = join(HERE, 'kamailio-proxy.cfg');
const AGENT_YAML = join(HERE, 'agent-proxy.yaml');
const INSIDE_ADDR = '127.0.0.1';
const OUTSIDE_ADDR = '127.0.0.2';
const exited = (c: { exitCode: number | null; signalCode: NodeJS.Signals | null }) =>
  c.exitCode !== null || c.signalCode !== null;

async function startKamailio(tag: string, ctx: CallBenchContext): Promise<ServerHandle> {
  const WORK = ctx.work;
  const port = await freeUdpPort();
  const run = join(WORK, `kamailio-${tag}`);
  mkdirSync(run, { recursive: true });
  const argv = [
    '-f',
    KAM_CFG,
    '-DD',
    '-E',
    '-m',
    '1024',
    '-M',
    '32',
    '-P',
    join(run, 'kamailio.pid'),
    '-Y',
    run,
    '-A',
    `INSIDE=udp:${INSIDE_ADDR}:${port}`,
    '-A',
    `OUTSIDE=udp:${OUTSIDE_ADDR}:${port}`,
    '-A',
    `CHILDREN=${ctx.kamChildren}`,
  ];
  ctx.commands.kamailio = [KAMAILIO, ...argv].join(' ');
  const fd = ctx.logFd(`kamailio-${tag}.log`);
  const child = spawn(KAMAILIO, argv, { cwd: run, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (!(await waitSipReady(child, port, 15_000))) {
    await stopChild(child, 5000);
    throw new Error(`kamailio did not answer OPTIONS (see ${WORK}/kamailio-${tag}.log)`);
  }
  await sleep(300);
  return kamailioHandle(port, child);
}

async function startAgent(tag: string, ctx: CallBenchContext): Promise<ServerHandle> {
  const WORK = ctx.work;
  const port = await freeUdpPort();
  const adminPort = await freeTcpPort();
  // bench/proxy/agent-proxy.yaml with its state dir in the work dir
  const cfg = join(WORK, `agent-${tag}.yaml`);
  const yaml = readFileSync(AGENT_YAML, 'utf8');
  const stateLine = /^stateDir: .*$/m;
  if (!stateLine.test(yaml)) throw new Error(`${AGENT_YAML}: no top-level stateDir line`);
  writeFileSync(
    cfg,
    yaml.replace(stateLine, `stateDir: ${JSON.stringify(join(WORK, `agent-state-${tag}`))}`),
  );
  const nodeArgs = [
    ...(ctx.agentCpuProf ? ['--cpu-prof', '--cpu-prof-dir', join(WORK, `cpu-prof-${tag}`)] : []),
    // the product's V8 flags, then the bench's own
    ...ctx.agentNodeArgs,
    // the compiled agent, as shipped (bench/lib/agent-entry.ts)
    ...agentEntryArgs(),
    '--config',
    cfg,
    '--sip-port',
    String(port),
    '--admin-port',
    String(adminPort),
  ];
  ctx.commands.agent = [process.execPath, ...nodeArgs].join(' ');
  const fd = ctx.logFd(`agent-${tag}.log`);
  const child = spawn(process.execPath, nodeArgs, { cwd: REPO, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (!(await waitSipReady(child, port, 45_000))) {
    await stopChild(child, 5000);
    throw new Error(`agent did not answer OPTIONS (see ${WORK}/agent-${tag}.log)`);
  }
  const pid = child.pid!;
  const handle: ServerHandle = {
    kind: 'agent',
    port,
    child,
    pids: () => [pid],
    async stop() {
      await stopChild(child, 8000);
    },
    killNow() {
      if (!exited(child)) child.kill('SIGKILL');
    },
  };
  return handle;
}

await runCallBench({
  name: 'proxy',
  script: 'bench/proxy/run.ts',
  peerKey: 'kamailio_cps',
  // start, increase per second, max — so that the knee comes after roughly 8-20 s
  ramp: {
    kamailio: { start: 2000, step: 500, max: 30_000, guardS: 45 },
    agent: { start: 200, step: 250, max: 30_000, guardS: 45 },
  },
  defaultBudgetSec: 540,
  topology: `UAC ${INSIDE_ADDR} → proxy inside ${INSIDE_ADDR}:<port> / outside ${OUTSIDE_ADDR}:<port> → UAS ${UAS_ADDR}`,
  preflight: (parts) =>
    (parts.has('kamailio') && !existsSync(KAMAILIO)) || !existsSync(SIPP)
      ? `needs ${KAMAILIO} and ${SIPP}: apt-get install -y kamailio sip-tester ` +
        '(with a policy-rc.d that exits 101 so the package does not start its service)'
      : undefined,
  meta: () => ({
    kamailio: versionLine(KAMAILIO, ['-v'], /^version:/),
    sipp: versionLine(SIPP, ['-v'], /SIPp v/),
  }),
  startServer: (kind, tag, ctx) => (kind === 'kamailio' ? startKamailio(tag, ctx) : startAgent(tag, ctx)),
});
