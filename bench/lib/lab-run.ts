/**
 * Network-namespace labs for the benchmarks that need a firewall between two parties
 * (bench/media, bench/calls-media): `infra/lab/lab.ts` builds `lan` (192.168.77.0/24), `fw`
 * (inside 192.168.77.1, outside 203.0.113.1, forwarding on, masquerade lan → wan) and `wan`
 * (203.0.113.0/24), each lab under a fresh prefix, and removes them in `down()` (and from a process
 * 'exit' hook). Nothing here touches the root namespace.
 *
 * What the benches add: one lab at a time, torn down on SIGINT/SIGTERM too; processes started in a
 * namespace with their output in a log file (tracked by the lab, killed by PID when it goes down);
 * readiness checks from inside a namespace.
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { type Lab, type LabNs, labSkipReason, labUp } from '../../infra/lab/lab.js';
import { log, sleep, waitExit } from '../register/procs.js';

export { LAB_ADDR, type Lab, type LabNs } from '../../infra/lab/lab.js';

let current: Lab | undefined;
let signalled = false;

/** Why the lab cannot be built here (root, CAP_NET_ADMIN/SYS_ADMIN, ip, nft, dnsmasq, tcpdump), or undefined. */
export const labProblem = (): string | undefined => labSkipReason();

/** Builds a fresh lab; the previous one (if any) must be down. */
export async function freshLab(): Promise<Lab> {
  if (current !== undefined) throw new Error(`lab ${current.prefix} is still up`);
  current = await labUp();
  return current;
}

export async function labDown(): Promise<void> {
  const lab = current;
  current = undefined;
  if (lab !== undefined) await lab.down();
}

/** On SIGINT/SIGTERM: `cleanup()` (stop what the caller started), the lab down, exit 130. */
export function onSignalTearDown(cleanup: () => Promise<void>): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      if (signalled) return;
      signalled = true;
      log(`${sig}: stopping what this run started, removing the lab`);
      void cleanup()
        .catch(() => {})
        .then(() => labDown())
        .catch(() => {})
        .finally(() => process.exit(130));
    });
  }
}

/** Starts `cmd args` in `ns` with stdout+stderr appended to `logFile` (stdin ignored unless `stdin`). */
export function spawnLogged(
  lab: Lab,
  ns: LabNs,
  cmd: string,
  args: readonly string[],
  logFile: string,
  o: { cwd?: string; stdin?: boolean; stdout?: 'pipe' | 'log' } = {},
): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    return lab.spawn(ns, cmd, args, {
      cwd: o.cwd,
      stdio: [o.stdin ? 'pipe' : 'ignore', o.stdout === 'pipe' ? 'pipe' : fd, fd],
    });
  } finally {
    closeSync(fd);
  }
}

/** SIGTERM by PID, SIGKILL after `ms`. */
export async function stopProcess(child: ChildProcess, ms = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (await waitExit(child, ms)) return;
  child.kill('SIGKILL');
  await waitExit(child, 3000);
}

/**
 * Sends SIP OPTIONS from inside `ns` to addr:port until any SIP response comes back (a node
 * one-liner run in the namespace per try), the child exits, or `ms` passes.
 */
export async function waitSipReadyIn(
  lab: Lab,
  ns: LabNs,
  from: string,
  addr: string,
  port: number,
  child: ChildProcess,
  ms: number,
): Promise<boolean> {
  const script =
    `const s=require('dgram').createSocket('udp4');const t=setTimeout(()=>process.exit(1),400);` +
    `s.on('message',b=>{if(b.toString('latin1',0,8)==='SIP/2.0 ')process.exit(0)});` +
    `s.bind(0,${JSON.stringify(from)},()=>{const p=s.address().port;const id=Date.now()+'-'+p;` +
    `s.send('OPTIONS sip:${addr}:${port} SIP/2.0\\r\\nVia: SIP/2.0/UDP ${from}:'+p+';branch=z9hG4bK-rdy'+id+';rport\\r\\n'+` +
    `'Max-Forwards: 70\\r\\nFrom: <sip:ping@${from}>;tag=r'+p+'\\r\\nTo: <sip:${addr}:${port}>\\r\\n'+` +
    `'Call-ID: rdy-'+id+'\\r\\nCSeq: 1 OPTIONS\\r\\nContent-Length: 0\\r\\n\\r\\n',${port},${JSON.stringify(addr)})});`;
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const r = await lab.exec(ns, process.execPath, ['-e', script], { check: false, timeoutMs: 5000 });
    if (r.code === 0) return true;
    await sleep(200);
  }
  return false;
}
