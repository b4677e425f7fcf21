/**
 * bench/media's helper inside the firewall namespace (run.ts starts it with `ip netns exec <fw>`):
 * sets up the bench's calls through one forwarder and answers JSON-line commands on stdin.
 *
 *   node --conditions=@sipwall/source --import tsx bench/media/fw-worker.ts <mode> '<setup JSON>'
 *
 * Modes:
 *  - `kernel`: the agent's nftables driver (`probeNftables`), used as a library: one `open` per call
 *    (its RTP and RTCP pinholes, as the session layer does), media then never enters user space.
 *  - `relay`: the agent's user-space `RelayPinholeDriver` in this process, with the options the
 *    agent gives it (`media-service.ts`: a logger, nothing else).
 *  - `rtpengine`: offer + answer per call over rtpengine's ng protocol on 127.0.0.1 of this
 *    namespace (rtpengine itself is started by run.ts), flags as Kamailio's
 *    `rtpengine_offer("replace-origin replace-session-connection ICE=remove RTP/AVP")`, with
 *    `direction` in → out so the inside party gets the inside address and the outside party the
 *    outside one.
 *
 * First line on stdout: `{"ready":true,"endpoints":[[side, bindIp, bindPort, dstIp, dstPort], …]}`
 * (what rtp-pump must send from and to: side 0 = the inside party, 1 = the outside party) or
 * `{"ready":false,"reason":"…"}`. Commands: `{"op":"opbench","iterations":N}` (kernel: open + close of
 * one call's two pinholes N times, after 100 for warm-up, on ports the bench's calls do not use),
 * `{"op":"counters"}` (packets the forwarder says it forwarded), `{"op":"exit"}` (closes every call).
 */
import { createInterface } from 'node:readline';
import pino from 'pino';
import { probeNftables } from '../../agent/src/media/drivers/nftables.js';
import { RelayPinholeDriver } from '../../agent/src/media/drivers/relay.js';
import type { PinholeDriver, PinholeSpec } from '../../agent/src/media/types.js';
import { type BValue, NgClient } from './ng.js';

export interface WorkerSetup {
  readonly calls: number;
  /** The firewall's inside and outside addresses (the pinholes' local endpoints). */
  readonly fwIn: string;
  readonly fwOut: string;
  /** The inside party (lan) and the outside party (wan), one port pair per call from these. */
  readonly phone: string;
  readonly phonePort0: number;
  readonly peer: string;
  readonly peerPort0: number;
  /** The media range given to the driver (kernel: the filtered range). */
  readonly portMin: number;
  readonly portMax: number;
  /** rtpengine's ng port on 127.0.0.1. */
  readonly ngPort: number;
}

type Mode = 'kernel' | 'relay' | 'rtpengine';
type EndpointLine = [side: 0 | 1, bindIp: string, bindPort: number, dstIp: string, dstPort: number];

const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const mode = process.argv[2] as Mode;
const setup = JSON.parse(process.argv[3] ?? '{}') as WorkerSetup;

/** Call i's pinholes: local ports from the bottom of the range, A side then B side. */
function callSpecs(i: number, base: number): PinholeSpec[] {
  const specs: PinholeSpec[] = [];
  for (const k of [0, 1]) {
    specs.push({
      id: `bench-${base}-${i}/0/${k === 0 ? 'rtp' : 'rtcp'}`,
      a: {
        local: { address: setup.fwIn, port: base + 4 * i + k },
        peer: { address: setup.phone, port: setup.phonePort0 + 2 * i + k },
      },
      b: {
        local: { address: setup.fwOut, port: base + 4 * i + 2 + k },
        peer: { address: setup.peer, port: setup.peerPort0 + 2 * i + k },
      },
      timeoutSec: 600,
    });
  }
  return specs;
}

function pinholeEndpoints(i: number): EndpointLine[] {
  const [rtp] = callSpecs(i, setup.portMin);
  return [
    [0, rtp!.a.peer.address, rtp!.a.peer.port, rtp!.a.local.address, rtp!.a.local.port],
    [1, rtp!.b.peer.address, rtp!.b.peer.port, rtp!.b.local.address, rtp!.b.local.port],
  ];
}

// ---------------------------------------------------------------- pinhole drivers
let driver: PinholeDriver | undefined;
let opened: string[] = [];

async function startDriver(): Promise<EndpointLine[]> {
  if (mode === 'kernel') {
    const probe = probeNftables({
      portMin: setup.portMin,
      portMax: setup.portMax,
      addresses: [setup.fwIn, setup.fwOut],
      onWarning: (m) => process.stderr.write(`kernel driver warning: ${m}\n`),
    });
    if (!probe.ok) throw new Error(`kernel driver unavailable: ${probe.reason}`);
    driver = probe.driver;
  } else {
    driver = new RelayPinholeDriver({ logger: pino({ level: 'warn' }, pino.destination(2)) });
  }
  const out: EndpointLine[] = [];
  for (let i = 0; i < setup.calls; i++) {
    const specs = callSpecs(i, setup.portMin);
    await driver.open(specs); // one call = one open, as the session layer does
    opened.push(...specs.map((s) => s.id));
    out.push(...pinholeEndpoints(i));
  }
  return out;
}

// ---------------------------------------------------------------- rtpengine over ng
let ng: NgClient | undefined;
const ngCalls: string[] = [];

function sdp(addr: string, port: number): string {
  return (
    `v=0\r\no=bench 1 1 IN IP4 ${addr}\r\ns=-\r\nc=IN IP4 ${addr}\r\nt=0 0\r\n` +
    `m=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n`
  );
}

function sdpPort(reply: { [key: string]: BValue }, what: string): { addr: string; port: number } {
  if (reply.result !== 'ok') throw new Error(`ng ${what}: ${JSON.stringify(reply)}`);
  const text = String(reply.sdp ?? '');
  const port = /^m=audio (\d+)/m.exec(text)?.[1];
  const addr = /^c=IN IP4 ([0-9.]+)/m.exec(text)?.[1];
  if (port === undefined || addr === undefined) throw new Error(`ng ${what}: no m=/c= in ${text}`);
  return { addr, port: Number(port) };
}

async function startRtpengine(): Promise<EndpointLine[]> {
  ng = new NgClient('127.0.0.1', setup.ngPort);
  // rtpengine was just started: ping until it answers (10 s at most)
  for (let i = 0; ; i++) {
    const pong = await ng.request({ command: 'ping' }, 300).catch(() => undefined);
    if (pong?.result === 'pong') break;
    if (i >= 30) throw new Error('rtpengine does not answer ng ping on 127.0.0.1');
  }
  const flags = { replace: ['origin', 'session-connection'], ICE: 'remove', 'transport-protocol': 'RTP/AVP' };
  const out: EndpointLine[] = [];
  for (let i = 0; i < setup.calls; i++) {
    const callId = `bench-media-${process.pid}-${i}`;
    const phonePort = setup.phonePort0 + 2 * i;
    const peerPort = setup.peerPort0 + 2 * i;
    const offer = await ng.request({
      command: 'offer',
      'call-id': callId,
      'from-tag': `a${i}`,
      sdp: sdp(setup.phone, phonePort),
      direction: ['in', 'out'],
      ...flags,
    });
    const towardsPeer = sdpPort(offer, 'offer'); // the outside party sends here
    const answer = await ng.request({
      command: 'answer',
      'call-id': callId,
      'from-tag': `a${i}`,
      'to-tag': `b${i}`,
      sdp: sdp(setup.peer, peerPort),
      ...flags,
    });
    const towardsPhone = sdpPort(answer, 'answer'); // the inside party sends here
    ngCalls.push(callId);
    out.push([0, setup.phone, phonePort, towardsPhone.addr, towardsPhone.port]);
    out.push([1, setup.peer, peerPort, towardsPeer.addr, towardsPeer.port]);
  }
  return out;
}

// ---------------------------------------------------------------- commands
async function opbench(iterations: number) {
  if (driver === undefined || mode !== 'kernel') throw new Error('opbench: kernel mode only');
  const n = Math.min(Math.max(iterations, 1), 20_000);
  // ports above the bench's calls, cycling over 500 calls' worth
  const base = setup.portMin + 4 * setup.calls + 64;
  const both: number[] = [];
  const openUs: number[] = [];
  const closeUs: number[] = [];
  let measuredS = 0;
  for (let i = 0; i < n + 100; i++) {
    const specs = callSpecs(i % 500, base).map((s) => ({ ...s, id: `${s.id}-op${i}` }));
    const t0 = performance.now();
    await driver.open(specs);
    const t1 = performance.now();
    await driver.close(specs.map((s) => s.id));
    const t2 = performance.now();
    if (i < 100) continue;
    openUs.push((t1 - t0) * 1000);
    closeUs.push((t2 - t1) * 1000);
    both.push((t2 - t0) * 1000);
    measuredS += (t2 - t0) / 1000;
  }
  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((x, y) => x - y);
    return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0);
  };
  return {
    iterations: both.length,
    perSec: Math.round(both.length / measuredS),
    openCloseUs: { p50: pct(both, 50), p90: pct(both, 90), p99: pct(both, 99), max: pct(both, 100) },
    openUs: { p50: pct(openUs, 50), p99: pct(openUs, 99) },
    closeUs: { p50: pct(closeUs, 50), p99: pct(closeUs, 99) },
  };
}

async function counters() {
  if (driver === undefined) return undefined;
  const m = await driver.counters(opened);
  let aToB = 0;
  let bToA = 0;
  let dropped = 0;
  for (const c of m.values()) {
    aToB += c.aToB.packets;
    bToA += c.bToA.packets;
    dropped += c.dropped;
  }
  return { aToB, bToA, dropped };
}

async function shutdown(): Promise<void> {
  if (driver !== undefined) {
    await driver.close(opened).catch(() => {});
    opened = [];
    await driver.dispose().catch(() => {});
  }
  if (ng !== undefined) {
    for (const callId of ngCalls)
      await ng.request({ command: 'delete', 'call-id': callId }, 500).catch(() => {});
    ng.close();
  }
}

async function main(): Promise<void> {
  let endpoints: EndpointLine[];
  try {
    endpoints = mode === 'rtpengine' ? await startRtpengine() : await startDriver();
  } catch (e) {
    say({ ready: false, reason: e instanceof Error ? e.message : String(e) });
    await shutdown();
    process.exit(0);
  }
  say({ ready: true, endpoints });
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (line.trim() === '') continue;
    const cmd = JSON.parse(line) as { op: string; iterations?: number };
    try {
      if (cmd.op === 'opbench') say({ ok: true, result: await opbench(cmd.iterations ?? 2000) });
      else if (cmd.op === 'counters') say({ ok: true, result: await counters() });
      else if (cmd.op === 'exit') break;
      else say({ ok: false, error: `unknown op ${cmd.op}` });
    } catch (e) {
      say({ ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  }
  await shutdown();
  say({ ok: true, result: 'bye' });
  process.exit(0);
}

await main();
