/**
 * bench/calls-media — calls per second with SDP rewrite and media pinholes: the agent (a real agent
 * process, `media.driver: nftables`) next to Kamailio + rtpengine doing the same job, in the same
 * run, both inside a lab's fw namespace (`infra/lab/lab.ts`), SIPp's UAC in `lan`, its UAS in `wan`.
 *
 *   node --conditions=@sipwall/source --import tsx bench/calls-media/run.ts [options]
 *   npm run bench:calls-media -w @sipwall/bench -- [options]
 *
 * The call: INVITE (SDP) → 100 → 180 → 200 (SDP) → ACK → BYE → 200 (bench/lib/sipp/call-*.xml).
 * SIPp's UAC on 192.168.77.10 (lan) sends `INVITE sip:service@203.0.113.10:<uas port>` to the
 * firewall's inside address 192.168.77.1:5060; the server relays it out of 203.0.113.1:5060 to the
 * UAS on 203.0.113.10 (wan), record-routing; both SDPs are rewritten to the firewall's addresses and
 * the call's media is anchored: the agent opens the RTP and RTCP pinholes in the kernel (nftables)
 * when the answer passes and closes them on BYE; Kamailio asks rtpengine (userspace, ng on
 * 127.0.0.1 in fw) for offer/answer/delete. No RTP flows (bench/media measures forwarding).
 *
 * Each server start gets a fresh lab (unique names; removed when the server stops, on Ctrl-C too),
 * with the fw namespace's ephemeral ports moved to 61000-64999, out of the media range. The method
 * (ramp, confirm, rounds, CPU, table) is bench/lib/call-bench.ts, as bench/proxy's; server CPU is the
 * agent's process, or Kamailio's processes plus rtpengine's. Options as bench/proxy (--help), with
 * 2 rounds, a 240-s budget and warm-ups at 200 calls/s by default (the run stays under 5 minutes). Last line of stdout:
 * `calls-media: agent_cps=A kamailio_rtpengine_cps=B ratio=R`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type CallBenchContext,
  kamailioHandle,
  runCallBench,
  type ServerHandle,
  versionLine,
} from '../lib/call-bench.js';
import {
  freshLab,
  LAB_ADDR,
  type Lab,
  labDown,
  labProblem,
  spawnLogged,
  stopProcess,
  waitSipReadyIn,
} from '../lib/lab-run.js';
import { sleep } from '../register/procs.js';
import { SIPP } from '../register/sipp.js';
import { agentEntryArgs } from '../lib/agent-entry.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
const KAMAILIO = '/usr/sbin/kamailio';
const RTPENGINE = '/usr/bin/rtpengine';
const KAM_CFG = join(HERE, 'kamailio-rtpengine.cfg');
const AGENT_YAML = join(HERE, 'agent-calls-media.yaml');
const FW_IN = LAB_ADDR.fwInside;
const FW_OUT = LAB_ADDR.fwOutside;
const PHONE = LAB_ADDR.phones[0];
const PEER = LAB_ADDR.peers[0];
const SIP_PORT = 5060;
const NG_PORT = 2223;
/** The media range, as the agent's config has it (agent-calls-media.yaml); rtpengine gets the same. */
const MEDIA_MIN = 10000;
const MEDIA_MAX = 60000;

let lab: Lab | undefined;

async function upLab(): Promise<Lab> {
  lab = await freshLab();
  // the media range must not be handed out as ephemeral ports in fw (agent/src/media/README.md)
  await lab.exec('fw', 'sysctl', ['-q', '-w', 'net.ipv4.ip_local_port_range=61000 64999']);
  return lab;
}

async function downLab(): Promise<void> {
  lab = undefined;
  await labDown();
}

async function ready(l: Lab, child: ServerHandle['child'], what: string, log: string, ms: number) {
  if (!(await waitSipReadyIn(l, 'lan', PHONE, FW_IN, SIP_PORT, child, ms))) {
    await stopProcess(child);
    throw new Error(`${what} did not answer OPTIONS on ${FW_IN}:${SIP_PORT} (see ${log})`);
  }
}

async function startKamailioRtpengine(tag: string, ctx: CallBenchContext): Promise<ServerHandle> {
  const l = await upLab();
  try {
    const rtpArgv = [
      '--config-file=none',
      '--foreground',
      '--log-stderr',
      '--table=-1',
      `--interface=in/${FW_IN}`,
      `--interface=out/${FW_OUT}`,
      `--listen-ng=127.0.0.1:${NG_PORT}`,
      `--port-min=${MEDIA_MIN}`,
      `--port-max=${MEDIA_MAX}`,
      '--delete-delay=0',
      '--log-level=4',
      '--num-threads=2',
    ];
    ctx.commands.rtpengine = `ip netns exec <lab>-fw ${RTPENGINE} ${rtpArgv.join(' ')}`;
    const rtp = spawnLogged(l, 'fw', RTPENGINE, rtpArgv, join(ctx.work, `rtpengine-${tag}.log`));
    await sleep(300);
    if (rtp.exitCode !== null)
      throw new Error(`rtpengine exited at start (see ${ctx.work}/rtpengine-${tag}.log)`);
    const run = join(ctx.work, `kamailio-${tag}`);
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
      `INSIDE=udp:${FW_IN}:${SIP_PORT}`,
      '-A',
      `OUTSIDE=udp:${FW_OUT}:${SIP_PORT}`,
      '-A',
      `CHILDREN=${ctx.kamChildren}`,
    ];
    ctx.commands.kamailio = `ip netns exec <lab>-fw ${KAMAILIO} ${argv.join(' ')}`;
    const logFile = join(ctx.work, `kamailio-${tag}.log`);
    const child = spawnLogged(l, 'fw', KAMAILIO, argv, logFile, { cwd: run });
    await ready(l, child, 'kamailio', logFile, 15_000);
    await sleep(300);
    return kamailioHandle(SIP_PORT, child, { addr: FW_IN, also: [rtp], afterStop: downLab });
  } catch (e) {
    await downLab();
    throw e;
  }
}

async function startAgent(tag: string, ctx: CallBenchContext): Promise<ServerHandle> {
  const l = await upLab();
  try {
    const cfg = join(ctx.work, `agent-${tag}.yaml`);
    const yaml = readFileSync(AGENT_YAML, 'utf8');
    const stateLine = /^stateDir: .*$/m;
    if (!stateLine.test(yaml)) throw new Error(`${AGENT_YAML}: no top-level stateDir line`);
    writeFileSync(
      cfg,
      yaml.replace(stateLine, `stateDir: ${JSON.stringify(join(ctx.work, `agent-state-${tag}`))}`),
    );
    const nodeArgs = [
      ...(ctx.agentCpuProf ? ['--cpu-prof', '--cpu-prof-dir', join(ctx.work, `cpu-prof-${tag}`)] : []),
      ...ctx.agentNodeArgs,
      // the compiled agent, as shipped (bench/lib/agent-entry.ts)
      ...agentEntryArgs(),
      '--config',
      cfg,
    ];
    ctx.commands.agent = `ip netns exec <lab>-fw ${process.execPath} ${nodeArgs.join(' ')}`;
    const logFile = join(ctx.work, `agent-${tag}.log`);
    const child = spawnLogged(l, 'fw', process.execPath, nodeArgs, logFile, { cwd: REPO });
    await ready(l, child, 'agent', logFile, 45_000);
    // the agent falls back to the relay (one warning) when the kernel path is unusable: not this bench
    if (readFileSync(logFile, 'utf8').includes('kernel media path unavailable')) {
      await stopProcess(child);
      throw new Error(`the agent could not use the kernel media driver (see ${logFile})`);
    }
    return {
      kind: 'agent',
      addr: FW_IN,
      port: SIP_PORT,
      child,
      pids: () => [child.pid!],
      async stop() {
        await stopProcess(child, 8000);
        await downLab();
      },
      killNow() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      },
    };
  } catch (e) {
    await downLab();
    throw e;
  }
}

/** The agent's media counters from its /metrics (admin API on 127.0.0.1:9090 inside fw). */
async function agentMediaNote(): Promise<string | undefined> {
  if (lab === undefined) return undefined;
  const script =
    "fetch('http://127.0.0.1:9090/metrics').then(r=>r.text()).then(t=>process.stdout.write(t),()=>process.exit(1))";
  const r = await lab.exec('fw', process.execPath, ['-e', script], { check: false, timeoutMs: 10_000 });
  if (r.code !== 0) return 'agent /metrics unreachable';
  const metric = (re: RegExp) => Number(re.exec(r.stdout)?.[1] ?? Number.NaN);
  const rewritten = metric(/^sipwall_agent_sdp_total\{outcome="rewritten"\} (\d+)/m);
  const exhausted = metric(/^sipwall_agent_media_ports_exhausted_total (\d+)/m);
  const opened = metric(/^sipwall_agent_pinholes_total\{op="open"\} (\d+)/m);
  const errors = metric(/^sipwall_agent_pinhole_errors_total (\d+)/m);
  const driver = /^sipwall_agent_media_sessions\{driver="(\w+)"\}/m.exec(r.stdout)?.[1] ?? '?';
  return (
    `agent media (${driver}, whole agent life): ${rewritten} SDP rewritten, ${opened} pinholes opened, ` +
    `${errors} pinhole errors, ${exhausted} offers refused for want of ports`
  );
}

/** RcvbufErrors of the namespace the server runs in (its /proc/<pid>/net/snmp). */
function nsUdpDrops(srv: ServerHandle): number {
  try {
    const udp = readFileSync(`/proc/${srv.child.pid}/net/snmp`, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('Udp:'));
    const names = udp[0]?.split(/\s+/) ?? [];
    return Number(udp[1]?.split(/\s+/)[names.indexOf('RcvbufErrors')] ?? 0);
  } catch {
    return 0;
  }
}

await runCallBench({
  name: 'calls-media',
  script: 'bench/calls-media/run.ts',
  peerKey: 'kamailio_rtpengine_cps',
  ramp: {
    kamailio: { start: 600, step: 250, max: 20_000, guardS: 45 },
    agent: { start: 100, step: 100, max: 20_000, guardS: 45 },
  },
  // the agent with kernel pinholes failed a 1,500-call warm-up at 500/s (79 % failed): warm both at 200/s
  defaultWarmupRate: 200,
  defaultBudgetSec: 240,
  defaultRounds: 2,
  topology:
    `UAC ${PHONE} (lan) → ${FW_IN}:${SIP_PORT} / ${FW_OUT}:${SIP_PORT} (fw: agent with kernel pinholes, ` +
    `or Kamailio + rtpengine) → UAS ${PEER} (wan); media ports ${MEDIA_MIN}-${MEDIA_MAX}`,
  preflight: (parts) => {
    const lp = labProblem();
    if (lp !== undefined) return lp;
    for (const [bin, pkg] of [
      [SIPP, 'sip-tester'],
      ...(parts.has('kamailio')
        ? [
            [KAMAILIO, 'kamailio'],
            [RTPENGINE, 'rtpengine-daemon'],
          ]
        : []),
    ] as const)
      if (!existsSync(bin)) return `needs ${bin} (apt-get install ${pkg}, with a policy-rc.d that exits 101)`;
    return undefined;
  },
  meta: () => ({
    kamailio: versionLine(KAMAILIO, ['-v'], /^version:/),
    rtpengine: `rtpengine ${versionLine(RTPENGINE, ['--version'], /Version:/).replace('Version: ', '')}`,
    sipp: versionLine(SIPP, ['-v'], /SIPp v/),
  }),
  startServer: (kind, tag, ctx) =>
    kind === 'kamailio' ? startKamailioRtpengine(tag, ctx) : startAgent(tag, ctx),
  uacPlace: () => ({ ns: lab!.ns.lan, addr: PHONE }),
  uasPlace: () => ({ ns: lab!.ns.wan, addr: PEER }),
  udpDrops: nsUdpDrops,
  afterRun: (srv) => (srv.kind === 'agent' ? agentMediaNote() : Promise.resolve(undefined)),
  cleanup: downLab,
});
