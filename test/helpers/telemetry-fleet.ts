/**
 * For the telemetry tests in test/fleet: a control plane whose storage and broker survive a
 * restart, real agent processes that proxy SIPp calls on loopback (caller 127.0.0.1 → agent inside
 * 127.0.0.1 / outside 127.0.0.2 → callee 127.0.0.3), and counting what landed in the database.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ControlPlane, type ControlPlaneOptions, startControlPlane } from '@sipwall/control-plane';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { ha1Of } from '../../agent/test/auth/digest-client.js';
import { type SpawnedAgent, startAgent } from '../../agent/test/helpers/spawn-agent.js';
import { freeUdpPort, type SippRun, startSipp } from '../../agent/test/helpers/sipp.js';

const SIPP_DIR = fileURLToPath(new URL('../fleet/sipp/', import.meta.url));
const BENCH_UAS = fileURLToPath(new URL('../../bench/lib/sipp/call-uas.xml', import.meta.url));
export const UAS_ADDR = '127.0.0.3';
export const ADMIN = { email: 'admin@telemetry.test', password: 'telemetry-e2e-password-1234' };

export async function startCp(
  database: ControlPlaneOptions['database'],
  broker: ControlPlaneOptions['broker'],
): Promise<ControlPlane> {
  return startControlPlane({
    host: '127.0.0.1',
    port: 0,
    database,
    broker,
    admin: ADMIN,
    dataDir: null,
    logger: pino({ level: 'silent' }),
    events: { peakDelayMs: 0 },
  });
}

/** Writes an agent config (a proxy between two loopback interfaces, no media anchoring) and starts the process. */
export interface CallAgent {
  readonly agent: SpawnedAgent;
  /** The inside SIP address (`127.0.0.1:port`) callers send to. */
  readonly inside: string;
  readonly adminPort: number;
  /** The agent's Prometheus gauge or counter `name` (unlabelled), from its admin API. */
  metric(name: string): Promise<number | undefined>;
}

/** A phone that may register at the agent (`<name>.example.test`). */
export interface PhoneUser {
  readonly user: string;
  readonly password: string;
}

export async function startCallAgent(
  dir: string,
  name: string,
  cpUrl: string,
  token: string,
  phones: readonly PhoneUser[] = [],
): Promise<CallAgent> {
  const [inside, outside] = [await freeUdpPort('127.0.0.1'), await freeUdpPort('127.0.0.2')];
  const configFile = join(dir, `${name}.yaml`);
  writeFileSync(
    configFile,
    JSON.stringify({
      site: name,
      stateDir: join(dir, `state-${name}`),
      log: { level: 'info' },
      controlPlane: { url: cpUrl, enrollmentToken: token },
      sip: {
        domains: [`${name}.example.test`],
        interfaces: [
          {
            name: 'inside',
            role: 'inside',
            address: '127.0.0.1',
            port: inside,
            transports: ['udp'],
            networks: ['127.0.0.1/32'],
          },
          {
            name: 'outside',
            role: 'outside',
            address: '127.0.0.2',
            port: outside,
            transports: ['udp'],
            networks: ['127.0.0.0/8'],
          },
        ],
        proxy: {},
      },
      admin: { address: '127.0.0.1', port: 0 },
      media: { driver: 'none' },
      policies: {
        authenticate: [],
        callAdmission: {
          maxConcurrentCallsPerUser: 10_000,
          maxCallAttemptsPerSecPerUser: 10_000,
          maxConcurrentCallsPerSite: 10_000,
          maxCallAttemptsPerSecPerSite: 10_000,
        },
      },
      users: phones.map((p) => ({
        username: p.user,
        domain: `${name}.example.test`,
        ha1: { md5: ha1Of('md5', p.user, `${name}.example.test`, p.password) },
      })),
    }),
  );
  const { agent, adminPort } = await startAgent(['--config', configFile, '--admin-port', '0']);
  return {
    agent,
    inside: `127.0.0.1:${inside}`,
    adminPort,
    metric: metricAt(adminPort),
  };
}

/** Reads an unlabelled gauge or counter from an agent's `/metrics`. */
export function metricAt(adminPort: number) {
  return async (metric: string): Promise<number | undefined> => {
    const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    const m = new RegExp(`^${metric} (\\d+)$`, 'm').exec(text);
    return m === null ? undefined : Number(m[1]);
  };
}

/** A callee that answers (or is busy), bounded in time; `stop` ends it by PID. */
export async function startCallee(dir: string, kind: 'answer' | 'busy', timeoutSec: number) {
  const port = await freeUdpPort(UAS_ADDR);
  const s = await startSipp({
    // The answering callee is bench/proxy's (180, 200 with SDP, waits for the BYE).
    scenario: { file: kind === 'answer' ? BENCH_UAS : join(SIPP_DIR, 'busy-uas.xml') },
    dir,
    localIp: UAS_ADDR,
    localPort: port,
    calls: 100_000,
    timeoutSec,
  });
  await new Promise((r) => setTimeout(r, 300));
  return { target: `${UAS_ADDR}:${port}`, stop: s.kill, done: s.done };
}

/** Places `calls` calls at `rate` per second through the agent to `target`; resolves with SIPp's result. */
export async function placeCalls(
  dir: string,
  agentInside: string,
  target: string,
  calls: number,
  rate: number,
  timeoutSec: number,
): Promise<SippRun> {
  const s = await startSipp({
    scenario: { file: join(SIPP_DIR, 'call-uac.xml') },
    dir,
    remote: agentInside,
    localIp: '127.0.0.1',
    calls,
    timeoutSec,
    recvTimeoutMs: 10_000,
    extraArgs: ['-s', 'bob', '-key', 'uas_target', target, '-r', String(rate), '-rp', '1000', '-l', '50'],
  });
  return s.done;
}

/** SIPp's "Successful call" total from its final screen. */
export function successfulCalls(run: SippRun): number {
  const m = [...run.output.matchAll(/Successful call\s+\|\s+\d+\s+\|\s+(\d+)/g)].at(-1);
  return m === undefined ? -1 : Number(m[1]);
}

export interface CallRow {
  agentId: string;
  callId: string;
  disposition: string;
  status: number;
  durationSec: number;
}

/** Every call record in the database (and how many rows there are: ids are unique by key). */
export async function callRows(cp: ControlPlane): Promise<CallRow[]> {
  const r = await cp.database.db.execute(
    sql`select agent_id as "agentId", call_id as "callId", disposition, status, duration_sec as "durationSec" from call_records`,
  );
  return (r as unknown as { rows: CallRow[] }).rows;
}
