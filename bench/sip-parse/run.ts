/**
 * Parse + serialize throughput of the agent's SIP layer against the npm `sip` package,
 * in the same process and run. Run:
 *   node --conditions=@sipwall/source --import tsx bench/sip-parse/run.ts [seconds-per-case]
 *
 * Each case runs ours and the peer in alternating rounds and reports the median round of
 * each, so a burst of load on the machine hits both sides alike; figures are messages per
 * CPU-second of this process (user + system), i.e. per core.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import {
  getContacts,
  getExpires,
  getHeaders,
  getRecordRoutes,
  getRoutes,
  parseMessage,
  prependVia,
  serializeMessage,
  setTopViaParams,
} from '../../agent/src/sip/index.js';
import { invite, ok200, register } from './messages.js';

interface PeerVia {
  version?: string;
  protocol?: string;
  host?: string;
  port?: number;
  params: Record<string, unknown>;
}
interface PeerMessage {
  headers: { via?: PeerVia[] } & Record<string, unknown>;
}
interface PeerSip {
  parse(s: string): PeerMessage | undefined;
  stringify(m: unknown): string;
}
const peer = createRequire(import.meta.url)('sip') as PeerSip;

const seconds = Number(process.argv[2] ?? 2.5);
const ROUNDS = 8;
const WARM_MS = 300;
const roundMs = Math.max(20, (seconds * 1000 - WARM_MS) / (2 * ROUNDS));
let sink = 0;

const RECEIVED = '203.0.113.99';
const RPORT = 5062;
const NEW_VIA = 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-bench';

// ---- ours ----
const oursPlain = (bytes: Buffer) => () => {
  const r = parseMessage(bytes);
  return r.ok ? serializeMessage(r.value).length : 0;
};
/** Every header value (list headers split), plus the parsed Contact, Route, Record-Route and Expires. */
const oursEveryHeader = (bytes: Buffer) => () => {
  const r = parseMessage(bytes);
  if (!r.ok) return 0;
  const m = r.value;
  const hs = m.headers;
  let n = 0;
  for (let i = 0; i < hs.length; i++) {
    const key = hs[i]?.key as string;
    let first = true;
    for (let j = 0; j < i && first; j++) first = hs[j]?.key !== key;
    if (first) n += getHeaders(m, key).length;
  }
  const c = getContacts(m);
  const rr = getRecordRoutes(m);
  const ro = getRoutes(m);
  const e = getExpires(m);
  n += (c.ok ? 1 : 0) + (rr.ok ? rr.value.length : 0) + (ro.ok ? ro.value.length : 0) + (e.ok ? 1 : 0);
  return n + serializeMessage(m).length;
};
/** RFC 3261 §18.2.1 / RFC 3581 received+rport on the top Via, then §16.6 step 8 a new Via. */
const oursForward = (bytes: Buffer) => () => {
  const r = parseMessage(bytes);
  if (!r.ok) return 0;
  const stamped = setTopViaParams(r.value, { received: RECEIVED, rport: RPORT });
  return serializeMessage(prependVia(stamped, NEW_VIA)).length;
};

// ---- peer: bytes in, bytes out, like ours ----
const peerPlain = (bytes: Buffer) => () => {
  const m = peer.parse(bytes.toString('latin1'));
  return m ? Buffer.from(peer.stringify(m), 'latin1').length : 0;
};
/** The peer parses every header it knows during `parse`; reading them is a property walk. */
const peerEveryHeader = (bytes: Buffer) => () => {
  const m = peer.parse(bytes.toString('latin1'));
  if (!m) return 0;
  let n = 0;
  for (const key in m.headers) if (m.headers[key] !== undefined) n++;
  return n + Buffer.from(peer.stringify(m), 'latin1').length;
};
const peerForward = (bytes: Buffer) => () => {
  const m = peer.parse(bytes.toString('latin1'));
  if (!m) return 0;
  const via = m.headers.via;
  if (via?.[0]) {
    via[0].params.received = RECEIVED;
    via[0].params.rport = RPORT;
  }
  via?.unshift({
    version: '2.0',
    protocol: 'UDP',
    host: '10.0.0.1',
    port: 5060,
    params: { branch: 'z9hG4bK-bench' },
  });
  return Buffer.from(peer.stringify(m), 'latin1').length;
};

/** Both sides must have done the same forward edits: new top Via, received/rport on the next. */
function checkForward(bytes: Buffer): void {
  const ours = parseMessage(
    serializeMessage(
      prependVia(setTopViaParams(expectOk(bytes), { received: RECEIVED, rport: RPORT }), NEW_VIA),
    ),
  );
  const theirs = peer.parse(
    (() => {
      const m = peer.parse(bytes.toString('latin1'));
      if (!m) throw new Error('peer cannot parse a benchmark message');
      const v = m.headers.via as PeerVia[];
      (v[0] as PeerVia).params.received = RECEIVED;
      (v[0] as PeerVia).params.rport = RPORT;
      v.unshift({
        version: '2.0',
        protocol: 'UDP',
        host: '10.0.0.1',
        port: 5060,
        params: { branch: 'z9hG4bK-bench' },
      });
      return peer.stringify(m);
    })(),
  );
  const ov = ours.ok ? ours.value.via : [];
  const pv = theirs?.headers.via ?? [];
  const same =
    ov.length === pv.length &&
    ov[0]?.host === '10.0.0.1' &&
    pv[0]?.host === '10.0.0.1' &&
    ov[1]?.received === RECEIVED &&
    ov[1]?.rport === RPORT &&
    pv[1]?.params.received === RECEIVED &&
    String(pv[1]?.params.rport) === String(RPORT);
  if (!same) throw new Error('forward: ours and the peer did not make the same edits');
}

function expectOk(bytes: Buffer) {
  const r = parseMessage(bytes);
  if (!r.ok) throw new Error(`benchmark message does not parse: ${r.error.code}`);
  return r.value;
}

/** Runs `fn` for `ms` of wall time; returns calls per CPU-second of this process. */
function round(fn: () => number, ms: number): number {
  let ops = 0;
  const cpu0 = process.cpuUsage();
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) sink += fn();
    ops += 100;
  }
  const cpu = process.cpuUsage(cpu0);
  return ops / ((cpu.user + cpu.system) / 1e6);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;

function compare(label: string, ours: () => number, theirs: () => number): [number, number] {
  round(ours, WARM_MS / 2);
  round(theirs, WARM_MS / 2);
  const o: number[] = [];
  const t: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    o.push(round(ours, roundMs));
    t.push(round(theirs, roundMs));
  }
  const result: [number, number] = [median(o), median(t)];
  process.stderr.write(
    `  ${label.padEnd(44)} ours ${fmt(result[0]).padStart(9)}  peer ${fmt(result[1]).padStart(9)}\n`,
  );
  return result;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en');

function cpusAllowed(): string {
  try {
    return /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '?';
  } catch {
    return '?';
  }
}

for (const b of [invite, register, ok200]) {
  expectOk(b);
  if (!peer.parse(b.toString('latin1'))) throw new Error('peer cannot parse a benchmark message');
  checkForward(b);
}

const load0 = loadavg();
console.log(
  `sip-parse bench: node ${process.version} (V8 ${process.versions.v8}), ${cpus()[0]?.model ?? '?'} × ${cpus().length}, ` +
    `CPUs allowed ${cpusAllowed()}, load average at start ${load0.map((l) => l.toFixed(2)).join(' ')}`,
);
console.log(
  `${seconds}s per case: ours and peer alternate in ${ROUNDS} rounds of ${Math.round(roundMs)} ms after ${WARM_MS} ms warm-up; median round, msg per CPU-second`,
);

const messages: Array<[string, Buffer]> = [
  [`INVITE+SDP ${invite.length} B`, invite],
  [`REGISTER ${register.length} B`, register],
  [`200 OK ${ok200.length} B`, ok200],
];
const rows: Array<[string, string, number, number]> = [];
for (const [name, bytes] of messages) {
  process.stderr.write(`${name}\n`);
  const cases: Array<[string, () => number, () => number]> = [
    ['parse+serialize', oursPlain(bytes), peerPlain(bytes)],
    ['every header read', oursEveryHeader(bytes), peerEveryHeader(bytes)],
    ['forward (received/rport + new Via)', oursForward(bytes), peerForward(bytes)],
  ];
  for (const [label, ours, theirs] of cases) {
    const [o, t] = compare(label, ours, theirs);
    rows.push([name, label, o, t]);
  }
}

console.log('\n| message | case | ours msg/s | peer (npm sip) msg/s | ours/peer |');
console.log('| --- | --- | ---: | ---: | ---: |');
for (const [name, label, ours, theirs] of rows) {
  console.log(`| ${name} | ${label} | ${fmt(ours)} | ${fmt(theirs)} | ${(ours / theirs).toFixed(2)}× |`);
}
const load1 = loadavg();
console.log(`\nload average at end ${load1.map((l) => l.toFixed(2)).join(' ')}`);
console.log(
  'peer parses every header it knows during parse, so its "every header read" is parse + a walk of the parsed headers + stringify;\n' +
    'ours parses routing headers eagerly and the rest on first read (getHeaders for each name, Contact, Route, Record-Route, Expires).',
);
if (sink === 42) console.log('');
