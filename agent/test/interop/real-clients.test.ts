/**
 * Real SIP clients register with the shipped example config (agent/examples/loopback.yaml, only the
 * ports and the state directory changed): SIPp and Debian's baresip 1.0, over UDP and TCP, with the
 * agent's own address as Request-URI (a phone configured with the firewall's IP as "server").
 * Both clients answer only an MD5 challenge, and baresip fails outright when a 401 names any other
 * algorithm, so these tests pin the default offer (`sip.auth.algorithms`) and the "myself" test.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, haveSipp, SIPP } from '../helpers/sipp.js';
import { REPO_ROOT, type SpawnedAgent, startAgent } from '../helpers/spawn-agent.js';

const BARESIP = spawnSync('sh', ['-c', 'command -v baresip']).stdout?.toString().trim() ?? '';
const haveBaresip = BARESIP !== '';
const BARESIP_MODULES = '/usr/lib/baresip/modules';

/** The example's test user (documented password; only its HA1 is in the config). */
const ALICE = { user: 'alice', password: 'alice-secret', aor: 'sip:alice@example.test' };

interface Row {
  aor: string;
  contact: string;
  flow: { transport: string; source: string };
  mode: string;
}

let dir = '';
let agent: SpawnedAgent | undefined;
let adminPort = 0;
let sipPort = 0;

async function registrations(): Promise<Row[]> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/registrations`, {
    signal: AbortSignal.timeout(3000),
  });
  return ((await res.json()) as { registrations: Row[] }).registrations;
}

/** Polls `/registrations` until a row matches; bounded in time (and so in count). */
async function waitForRow(pred: (r: Row) => boolean, timeoutMs = 10_000): Promise<Row | undefined> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const row = (await registrations()).find(pred);
    if (row !== undefined || Date.now() > until) return row;
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Whether `port` can be bound for UDP on 127.0.0.1 right now. */
function udpFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createSocket('udp4');
    s.once('error', () => res(false));
    s.bind(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

/** A port free on 127.0.0.1 for both TCP and UDP (bounded tries). */
async function freeSipPort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    if (await udpFree(port)) return port;
  }
  throw new Error('no port free for both UDP and TCP on 127.0.0.1');
}

/** Runs a child bounded in time; kills it by PID (SIGKILL) at the bound. */
function runBounded(cmd: string, args: readonly string[], cwd: string, boundMs: number) {
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (b: Buffer) => {
    output += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    output += b.toString();
  });
  const done = new Promise<{ code: number | null; output: string }>((res) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), boundMs);
    child.on('close', (code) => {
      clearTimeout(killer);
      res({ code, output: output.slice(-6000) });
    });
  });
  return { child, done, output: () => output };
}

/** Stops a child by its PID: SIGTERM, then SIGKILL after `graceMs`. */
async function stopChild(child: ChildProcess, done: Promise<unknown>, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(t);
}

beforeAll(async () => {
  if (!haveSipp && !haveBaresip) return;
  dir = await mkdtemp(join(tmpdir(), 'sipwall-interop-'));
  // The shipped example, unchanged: its relative stateDir lands beside the copy, in `dir`.
  const config = join(dir, 'agent.yaml');
  await writeFile(config, await readFile(resolve(REPO_ROOT, 'agent/examples/loopback.yaml'), 'utf8'));
  sipPort = await freeSipPort();
  const started = await startAgent(['--config', config, '--sip-port', String(sipPort), '--admin-port', '0']);
  agent = started.agent;
  adminPort = started.adminPort;
}, 40_000);

afterAll(async () => {
  await agent?.stop(5000);
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

/** REGISTER → 401 → REGISTER with `[authentication]` (credentials from -s/-au/-ap) → 200. */
const SIPP_REGISTER = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="REGISTER with digest to the agent's own address">
  <send retrans="500">
    <![CDATA[

      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      Max-Forwards: 70
      From: <sip:[service]@example.test>;tag=[pid]-[call_number]
      To: <sip:[service]@example.test>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      Contact: <sip:[service]@[local_ip]:[local_port];transport=[transport]>
      Expires: 3600
      User-Agent: sipwall-interop-sipp
      Content-Length: 0

    ]]>
  </send>

  <recv response="401" auth="true"/>

  <send retrans="500">
    <![CDATA[

      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      Max-Forwards: 70
      From: <sip:[service]@example.test>;tag=[pid]-[call_number]
      To: <sip:[service]@example.test>
      Call-ID: [call_id]
      CSeq: 2 REGISTER
      Contact: <sip:[service]@[local_ip]:[local_port];transport=[transport]>
      [authentication]
      Expires: 3600
      User-Agent: sipwall-interop-sipp
      Content-Length: 0

    ]]>
  </send>

  <recv response="200"/>
</scenario>
`;

describe.skipIf(!haveSipp)(
  `SIPp registers alice to sip:127.0.0.1:<port> with the example config${haveSipp ? '' : ' (skipped: sipp not installed; apt-get install sip-tester)'}`,
  { timeout: 40_000 },
  () => {
    for (const [mode, transport] of [
      ['u1', 'udp'],
      ['t1', 'tcp'],
    ] as const) {
      it(`over ${transport.toUpperCase()}: 401 (MD5), then 200, and the binding is in /registrations`, async () => {
        const scenario = join(dir, 'register.xml');
        await writeFile(scenario, SIPP_REGISTER);
        const localPort = await freePort();
        const run = runBounded(
          SIPP,
          [
            '-sf',
            scenario,
            '-t',
            mode,
            '-s',
            ALICE.user,
            '-au',
            ALICE.user,
            '-ap',
            ALICE.password,
            '-i',
            '127.0.0.1',
            '-p',
            String(localPort),
            '-m',
            '1',
            '-timeout',
            '15s',
            '-timeout_error',
            '-recv_timeout',
            '5000',
            '-nostdin',
            '-nr',
            `127.0.0.1:${sipPort}`,
          ],
          dir,
          25_000,
        );
        const result = await run.done;
        expect(result.code, result.output).toBe(0);
        const row = await waitForRow(
          (r) => r.aor === ALICE.aor && r.contact.includes(`@127.0.0.1:${localPort}`),
          5000,
        );
        expect(row, JSON.stringify(await registrations())).toBeDefined();
        expect(row!.mode).toBe('main');
        expect(row!.flow.transport).toBe(transport);
      });
    }
  },
);

/**
 * baresip 1.0 account lines: through the agent as outbound proxy (Request-URI = the domain), and
 * with the agent's address as the registrar (Request-URI and To = the address: alice@127.0.0.1 is
 * alice@example.test).
 */
const ACCOUNTS = {
  'outbound proxy': (transport: string) =>
    `<sip:alice@example.test>;auth_pass=${ALICE.password};outbound="sip:127.0.0.1:${sipPort};transport=${transport}";regint=60`,
  'agent address as server': (transport: string) =>
    `<sip:alice@127.0.0.1:${sipPort};transport=${transport}>;auth_pass=${ALICE.password};regint=60`,
} as const;

describe.skipIf(!haveBaresip)(
  `baresip 1.0 registers alice with the example config${haveBaresip ? '' : ' (skipped: baresip not installed; apt-get install baresip)'}`,
  { timeout: 40_000 },
  () => {
    for (const transport of ['udp', 'tcp'] as const) {
      for (const [form, account] of Object.entries(ACCOUNTS)) {
        it(`over ${transport.toUpperCase()}, ${form}: the binding appears in /registrations`, async () => {
          const home = join(dir, `baresip-${transport}-${form.replaceAll(' ', '-')}`);
          await mkdir(home, { recursive: true });
          const listen = await freeSipPort();
          // Only the account and menu modules: registering needs no audio, video or console module.
          await writeFile(
            join(home, 'config'),
            [
              `sip_listen 127.0.0.1:${listen}`,
              `module_path ${BARESIP_MODULES}`,
              'module_app account.so',
              'module_app menu.so',
              'audio_player none',
              'audio_source none',
              'audio_alert none',
              '',
            ].join('\n'),
          );
          await writeFile(join(home, 'accounts'), `${account(transport)}\n`);
          // -t: baresip quits on its own after 15 s; the test stops it by PID as soon as the binding shows.
          const run = runBounded(BARESIP, ['-f', home, '-t', '15'], home, 20_000);
          try {
            const row = await waitForRow(
              (r) => r.aor === ALICE.aor && r.contact.includes(`@127.0.0.1:${listen}`),
              12_000,
            );
            expect(row, `${JSON.stringify(await registrations())}\nbaresip:\n${run.output()}`).toBeDefined();
            expect(row!.flow.transport).toBe(transport);
            expect(run.output()).not.toMatch(/Function not implemented/);
          } finally {
            await stopChild(run.child, run.done);
          }
        });
      }
    }
  },
);
