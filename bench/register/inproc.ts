/**
 * In-process CPU cost of one digest registration through the agent's real pipeline (transport
 * layer → transaction layer → core → registrar → journal), with a fake UDP transport instead of a
 * socket: no SIPp, no kernel, no other process. Steadier than the SIPp figure on a shared box,
 * and it isolates the JavaScript cost (the SIPp run adds the sendto/recvfrom syscalls).
 *
 *   node --conditions=@sipwall/source --import tsx bench/register/inproc.ts [registrations] [--cpu-prof]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../agent/src/config/load-config.js';
import { CoreUser } from '../../agent/src/core/core-user.js';
import { RequestHandlerRegistry } from '../../agent/src/core/request-handlers.js';
import { DEFAULT_KEEPALIVE } from '../../agent/src/registrar/keepalive-runner.js';
import { openRegistrarService } from '../../agent/src/registrar/registrar-service.js';
import { createCryptoIds } from '../../agent/src/transaction/ids.js';
import { TransactionLayer } from '../../agent/src/transaction/transaction-layer.js';
import { createTransportCounters } from '../../agent/src/transport/counters.js';
import { TransportLayer } from '../../agent/src/transport/transport-layer.js';
import type { Endpoint, Transport } from '../../agent/src/transport/types.js';
import { createSystemClock } from '../../agent/src/util/clock.js';
import { createRandomPool } from '../../agent/src/util/random-pool.js';
import { makeUsers, md5, REALM, writeAgentConfig } from './users.js';

const N = Number(process.argv[2] ?? 40_000);
const USERS = 5000;
const work = mkdtempSync(join(tmpdir(), 'sipwall-inproc-'));
const users = makeUsers(USERS);
const cfgPath = join(work, 'agent.yaml');
writeAgentConfig(cfgPath, {
  sipPort: 5060,
  adminPort: 0,
  stateDir: join(work, 'state'),
  users,
  maxPendingTransactions: 1_000_000,
});
const { config } = await loadConfig(cfgPath);
const logger = pino({ level: 'warn' });
const clock = createSystemClock();
const pool = createRandomPool();

let lastOut = '';
/** 200s seen: the 200 may go out later than the REGISTER that earned it (after the journal write). */
let oks = 0;
const seen = (bytes: Uint8Array) => {
  lastOut = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  if (lastOut.startsWith('SIP/2.0 200')) oks++;
};
const transport: Transport = {
  protocol: 'udp',
  interfaceName: 'lan',
  local: { address: '127.0.0.1', port: 5060 },
  reliable: false,
  send: async (bytes: Uint8Array) => seen(bytes),
  post: (bytes: Uint8Array, _to: Endpoint) => seen(bytes),
  close: async () => {},
};

const counters = createTransportCounters();
const handlers = new RequestHandlerRegistry();
const ids = createCryptoIds();
const core = new CoreUser({ localHosts: [REALM, '127.0.0.1'] }, { handlers, ids, logger });
const transactions = new TransactionLayer(
  { timers: config.sip.timers, maxPendingTransactions: 1_000_000, retryAfterSec: 5 },
  { clock, logger, user: core },
);
const tl = new TransportLayer(
  { maxMessageBytes: 65_535, maxHeaderBytes: 32_768, localHosts: [REALM, '127.0.0.1'] },
  { upper: transactions, counters, logger },
);
tl.addTransport(transport);
const registrar = await openRegistrarService(config, {
  stateDir: config.stateDir,
  clock,
  logger,
  randomBytes: (n) => pool.bytes(n),
  nonceSecret: randomBytes(32),
  keepAlive: DEFAULT_KEEPALIVE,
  resolveHost: async (h) => h,
  onRegistrationEvents: () => {},
  onSecurityEvents: () => {},
});
registrar.attach({
  handlers,
  ids,
  drop: (tx) => transactions.drop(tx),
  sendRequest: () => {},
  listening: () => [],
});

function register(i: number, auth?: string): Buffer {
  const u = users[i % USERS]!;
  const lines = [
    `REGISTER sip:${REALM} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-${i}-${auth ? 2 : 1};rport`,
    'Max-Forwards: 70',
    `From: <sip:${u.username}@${REALM}>;tag=f${i}`,
    `To: <sip:${u.username}@${REALM}>`,
    `Call-ID: c${i}@127.0.0.1`,
    `CSeq: ${auth ? 2 : 1} REGISTER`,
    `Contact: <sip:${u.username}@127.0.0.1:5070>`,
    'Expires: 3600',
    ...(auth ? [`Authorization: ${auth}`] : []),
    'Content-Length: 0',
    '',
    '',
  ];
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

function answer(i: number, challenge: string): string {
  const u = users[i % USERS]!;
  const nonce = /nonce="([^"]+)"/.exec(challenge)![1]!;
  const cnonce = `cn${i}`;
  const nc = '00000001';
  const uri = `sip:${REALM}`;
  const ha2 = md5(`REGISTER:${uri}`);
  const response = md5(`${u.ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return `Digest username="${u.username}",realm="${REALM}",nonce="${nonce}",uri="${uri}",response="${response}",algorithm=MD5,cnonce="${cnonce}",qop=auth,nc=${nc}`;
}

const source = { address: '127.0.0.1', port: 5070 };
function one(i: number): boolean {
  tl.onMessage({ bytes: register(i), source, transport });
  const ch = lastOut;
  if (!ch.startsWith('SIP/2.0 401')) return false;
  const www = /WWW-Authenticate: (.*MD5.*)\r\n/.exec(ch)?.[1] ?? ch;
  tl.onMessage({ bytes: register(i, answer(i, www)), source, transport });
  return true;
}

// Client-side work (building requests, hashing the answer) is measured separately and subtracted.
function clientOnly(i: number): void {
  register(i);
  register(i, answer(i, 'nonce="x"'));
}

async function measure(label: string, fn: (i: number) => unknown, count: number): Promise<number> {
  const c0 = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    fn(i);
    if (i % 500 === 499) await new Promise((r) => setImmediate(r)); // let the journal run
  }
  const c = process.cpuUsage(c0);
  const us = (c.user + c.system) / count;
  process.stderr.write(`${label}: ${us.toFixed(1)} µs CPU each (${count})\n`);
  return us;
}

const settle = async () => {
  for (let k = 0; k < 200; k++) await new Promise((r) => setTimeout(r, 5));
};
if (!one(0)) throw new Error(`registration failed: ${lastOut.slice(0, 200)}`);
await measure('warm-up', one, Math.min(10_000, N));
await settle();
const client = await measure('client side only', clientOnly, N);
const ok0 = oks;
const total = await measure('registration + client side', (i) => one(i + 1_000_000), N);
await settle();
if (oks - ok0 !== N) throw new Error(`only ${oks - ok0} of ${N} registrations got a 200`);
process.stdout.write(
  `agent in-process: ${(total - client).toFixed(1)} µs CPU per registration (401 + 200)\n`,
);
const gcFn = (globalThis as { gc?: () => void }).gc;
if (gcFn !== undefined) {
  gcFn();
  const live = transactions.serverTransactionCount;
  const heap = process.memoryUsage();
  process.stderr.write(
    `after gc: ${live} server transactions live, heap ${(heap.heapUsed / 1048576).toFixed(1)} MB, ` +
      `external+arrayBuffers ${((heap.external + heap.arrayBuffers) / 1048576).toFixed(1)} MB\n`,
  );
  if (process.env.HEAP_SNAPSHOT) (await import('node:v8')).writeHeapSnapshot(process.env.HEAP_SNAPSHOT);
}
await registrar.close();
transactions.stop();
process.exit(0);
