/**
 * Parse + serialize throughput of the agent's SIP layer against the npm `sip` package,
 * in the same process and run. Run:
 *   node --conditions=@sipwall/source --import tsx bench/sip-parse/run.ts [seconds-per-case]
 */
import { createRequire } from 'node:module';
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

interface PeerSip {
  parse(s: string): { headers: { via?: unknown[] } & Record<string, unknown> } | undefined;
  stringify(m: unknown): string;
}
const peer = createRequire(import.meta.url)('sip') as PeerSip;

const seconds = Number(process.argv[2] ?? 2);
let sink = 0;

/**
 * Runs `fn` for ~`seconds` of wall time after a warm-up; returns operations per CPU-second
 * of this process (user+system), i.e. per core, so other load on the machine does not skew it.
 */
function measure(label: string, fn: () => number): number {
  const warmEnd = performance.now() + 300;
  while (performance.now() < warmEnd) for (let i = 0; i < 200; i++) sink += fn();
  let ops = 0;
  const cpu0 = process.cpuUsage();
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 500; i++) sink += fn();
    ops += 500;
  }
  const cpu = process.cpuUsage(cpu0);
  const rate = ops / ((cpu.user + cpu.system) / 1e6);
  process.stdout.write(`  ${label.padEnd(46)} ${Math.round(rate).toLocaleString('en').padStart(12)} msg/s\n`);
  return rate;
}

// ---- ours ----
const oursPlain = (bytes: Buffer) => () => {
  const r = parseMessage(bytes);
  return r.ok ? serializeMessage(r.value).length : 0;
};
const oursTouchAll = (bytes: Buffer) => () => {
  const r = parseMessage(bytes);
  if (!r.ok) return 0;
  const m = r.value;
  let n = 0;
  const seen = new Set<string>();
  for (const h of m.headers) {
    if (seen.has(h.key)) continue;
    seen.add(h.key);
    n += getHeaders(m, h.key).length;
  }
  const c = getContacts(m);
  const rr = getRecordRoutes(m);
  const ro = getRoutes(m);
  const e = getExpires(m);
  n += (c.ok ? 1 : 0) + (rr.ok ? rr.value.length : 0) + (ro.ok ? ro.value.length : 0) + (e.ok ? 1 : 0);
  return n + serializeMessage(m).length;
};
const oursForward = (bytes: Buffer) => () => {
  const r = parseMessage(bytes);
  if (!r.ok) return 0;
  const m =
    r.value.kind === 'request'
      ? setTopViaParams(r.value, { received: '203.0.113.99', rport: 5062 })
      : r.value;
  return serializeMessage(prependVia(m, 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-bench')).length;
};

// ---- peer: bytes in, bytes out, like ours ----
const peerPlain = (bytes: Buffer) => () => {
  const m = peer.parse(bytes.toString('binary'));
  return m ? Buffer.from(peer.stringify(m), 'binary').length : 0;
};
const peerForward = (bytes: Buffer) => () => {
  const m = peer.parse(bytes.toString('binary'));
  if (!m) return 0;
  const via = m.headers.via as Array<{ params: Record<string, unknown> }> | undefined;
  if (via?.[0]) {
    via[0].params.received = '203.0.113.99';
    via[0].params.rport = 5062;
  }
  via?.unshift({
    version: '2.0',
    protocol: 'UDP',
    host: '10.0.0.1',
    port: 5060,
    params: { branch: 'z9hG4bK-bench' },
  } as never);
  return Buffer.from(peer.stringify(m), 'binary').length;
};

// Sanity: both sides understand every message.
for (const b of [invite, register, ok200]) {
  if (!parseMessage(b).ok || !peer.parse(b.toString('binary')))
    throw new Error('benchmark message does not parse');
}

const cases: Array<[string, Buffer]> = [
  [`INVITE+SDP (${invite.length} B, 3 Via, RR, SDP)`, invite],
  [`REGISTER+Authorization (${register.length} B)`, register],
  [`200 OK (${ok200.length} B)`, ok200],
];
const rows: Array<[string, number, number]> = [];
console.log(
  `sip-parse bench: ${seconds}s per case after 0.3s warm-up, msg per CPU-second, node ${process.version}`,
);
for (const [name, bytes] of cases) {
  console.log(`${name}`);
  rows.push([
    `${name} parse+serialize`,
    measure('ours  parse+serialize', oursPlain(bytes)),
    measure('peer  parse+stringify', peerPlain(bytes)),
  ]);
  rows.push([
    `${name} touch every header`,
    measure('ours  parse+all headers+serialize', oursTouchAll(bytes)),
    rows.at(-1)?.[2] ?? 0,
  ]);
  rows.push([
    `${name} forward (Via edits)`,
    measure('ours  parse+received/rport+Via+serialize', oursForward(bytes)),
    measure('peer  parse+same edits+stringify', peerForward(bytes)),
  ]);
}

console.log('\n| case | ours msg/s | peer (npm sip) msg/s | ours/peer |');
console.log('| --- | ---: | ---: | ---: |');
for (const [name, ours, theirs] of rows) {
  console.log(
    `| ${name} | ${Math.round(ours).toLocaleString('en')} | ${Math.round(theirs).toLocaleString('en')} | ${(ours / theirs).toFixed(1)}× |`,
  );
}
console.log(
  '\n(peer always fully parses every header and re-stringifies; "touch every header" is compared with that.)',
);
if (sink === 42) console.log('');
