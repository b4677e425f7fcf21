/**
 * A/B of the in-process registration cost (see inproc.ts) between two checkouts, in ONE process:
 * both agent pipelines are loaded side by side and measured in alternating batches, so the
 * fast/slow phases of a shared VM hit both alike (separate runs differ by ±20 % here; the ratio
 * of alternating batches holds to a few %).
 *
 *   node --max-semi-space-size=64 --conditions=@sipwall/source --import tsx \
 *     bench/register/inproc-ab.ts <checkout A> <checkout B> [batches] [per batch]
 *
 * A checkout is a directory holding `agent/src` (e.g. a `git worktree` of the base commit).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { makeUsers, md5, REALM, writeAgentConfig } from './users.js';

const [rootA, rootB] = [process.argv[2], process.argv[3]];
if (rootA === undefined || rootB === undefined) {
  process.stderr.write('usage: inproc-ab.ts <checkout A> <checkout B> [batches] [per batch]\n');
  process.exit(2);
}
const BATCHES = Number(process.argv[4] ?? 20);
const PER = Number(process.argv[5] ?? 2000);
const USERS = 5000;
const users = makeUsers(USERS);

interface Stack {
  readonly name: string;
  one(i: number): boolean;
  oks(): number;
  close(): Promise<void>;
}

async function load(root: string): Promise<Stack> {
  const src = (p: string) => import(pathToFileURL(resolve(root, 'agent/src', p)).href);
  const { loadConfig } = await src('config/load-config.ts');
  const { CoreUser } = await src('core/core-user.ts');
  const { RequestHandlerRegistry } = await src('core/request-handlers.ts');
  const { DEFAULT_KEEPALIVE } = await src('registrar/keepalive-runner.ts');
  const { openRegistrarService } = await src('registrar/registrar-service.ts');
  const { createCryptoIds } = await src('transaction/ids.ts');
  const { TransactionLayer } = await src('transaction/transaction-layer.ts');
  const { createTransportCounters } = await src('transport/counters.ts');
  const { TransportLayer } = await src('transport/transport-layer.ts');
  const { createSystemClock } = await src('util/clock.ts');
  const { createRandomPool } = await src('util/random-pool.ts');

  const work = mkdtempSync(join(tmpdir(), 'sipwall-inproc-ab-'));
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
  let oks = 0;
  const seen = (bytes: Uint8Array) => {
    lastOut = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
    if (lastOut.startsWith('SIP/2.0 200')) oks++;
  };
  const transport = {
    protocol: 'udp',
    interfaceName: 'lan',
    local: { address: '127.0.0.1', port: 5060 },
    reliable: false,
    send: async (bytes: Uint8Array) => seen(bytes),
    post: (bytes: Uint8Array) => seen(bytes),
    close: async () => {},
  };
  const handlers = new RequestHandlerRegistry();
  const ids = createCryptoIds();
  const core = new CoreUser({ localHosts: [REALM, '127.0.0.1'] }, { handlers, ids, logger });
  const transactions = new TransactionLayer(
    { timers: config.sip.timers, maxPendingTransactions: 1_000_000, retryAfterSec: 5 },
    { clock, logger, user: core },
  );
  const tl = new TransportLayer(
    { maxMessageBytes: 65_535, maxHeaderBytes: 32_768, localHosts: [REALM, '127.0.0.1'] },
    { upper: transactions, counters: createTransportCounters(), logger },
  );
  tl.addTransport(transport);
  const registrar = await openRegistrarService(config, {
    stateDir: config.stateDir,
    clock,
    logger,
    randomBytes: (n: number) => pool.bytes(n),
    nonceSecret: randomBytes(32),
    keepAlive: DEFAULT_KEEPALIVE,
    resolveHost: async (h: string) => h,
    onRegistrationEvents: () => {},
    onSecurityEvents: () => {},
  });
  registrar.attach({
    handlers,
    ids,
    drop: (tx: unknown) => transactions.drop(tx),
    sendRequest: () => {},
    listening: () => [],
  });
  const source = { address: '127.0.0.1', port: 5070 };
  return {
    name: root,
    one(i: number): boolean {
      tl.onMessage({ bytes: register(i), source, transport });
      const ch = lastOut;
      if (!ch.startsWith('SIP/2.0 401')) return false;
      const www = /WWW-Authenticate: (.*MD5.*)\r\n/.exec(ch)?.[1] ?? ch;
      tl.onMessage({ bytes: register(i, answer(i, www)), source, transport });
      return true;
    },
    oks: () => oks,
    async close() {
      await registrar.close();
      transactions.stop();
    },
  };
}

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
  const nonce = /nonce="([^"]+)"/.exec(challenge)?.[1] ?? '';
  const cnonce = `cn${i}`;
  const nc = '00000001';
  const uri = `sip:${REALM}`;
  const ha2 = md5(`REGISTER:${uri}`);
  const response = md5(`${u.ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return `Digest username="${u.username}",realm="${REALM}",nonce="${nonce}",uri="${uri}",response="${response}",algorithm=MD5,cnonce="${cnonce}",qop=auth,nc=${nc}`;
}

const stacks = [await load(rootA), await load(rootB)];
const us: number[][] = [[], []];
let next = 0;
async function batch(k: number, count: number, record: boolean): Promise<void> {
  const s = stacks[k]!;
  const c0 = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    if (!s.one(next++)) throw new Error(`${s.name}: registration ${next} got no 401`);
    if (i % 500 === 499) await new Promise((r) => setImmediate(r)); // let the journal run
  }
  const c = process.cpuUsage(c0);
  if (record) us[k]!.push((c.user + c.system) / count);
}
for (let w = 0; w < 3; w++) for (const k of [0, 1]) await batch(k, PER, false);
for (let b = 0; b < BATCHES; b++) {
  // ABBA order so neither side always runs right after the other's journal burst
  for (const k of b % 2 === 0 ? [0, 1] : [1, 0]) await batch(k, PER, true);
  process.stderr.write(`\rbatch ${b + 1}/${BATCHES}`);
}
process.stderr.write('\n');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ratios = us[0]!.map((a, i) => us[1]![i]! / a);
for (const k of [0, 1])
  process.stdout.write(
    `${k === 0 ? 'A' : 'B'} ${stacks[k]!.name}: median ${median(us[k]!).toFixed(1)} µs CPU per registration (incl. client side)\n`,
  );
process.stdout.write(
  `B/A median ratio ${median(ratios).toFixed(3)} (batches: ${ratios.map((r) => r.toFixed(2)).join(' ')})\n`,
);
for (const s of stacks) await s.close();
process.exit(0);
