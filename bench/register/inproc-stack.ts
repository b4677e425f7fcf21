/**
 * The in-process registration pipeline shared by inproc.ts and inproc-ab.ts: the agent's real
 * layers from a checkout's `agent/src`, a fake UDP transport, and the bench's REGISTERs.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { type BenchUser, REALM, registerResponse, writeAgentConfig } from './users.js';

export interface Stack {
  readonly name: string;
  /** One registration: REGISTER → 401 → REGISTER with Authorization (its 200 may follow later). */
  one(i: number): boolean;
  /** 200s seen so far. */
  oks(): number;
  /** Last datagram the agent sent, latin1. */
  lastOut(): string;
  serverTransactions(): number;
  close(): Promise<void>;
}

/**
 * The agent's real pipeline from `<root>/agent/src` (transport layer → transaction layer → core →
 * registrar → journal) with a fake UDP transport; `root` may be another checkout (inproc-ab.ts).
 */
export async function loadStack(root: string, users: readonly BenchUser[]): Promise<Stack> {
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
      tl.onMessage({ bytes: register(users, i), source, transport });
      const ch = lastOut;
      if (!ch.startsWith('SIP/2.0 401')) return false;
      const www = /WWW-Authenticate: (.*MD5.*)\r\n/.exec(ch)?.[1] ?? ch;
      tl.onMessage({ bytes: register(users, i, answer(users, i, www)), source, transport });
      return true;
    },
    oks: () => oks,
    lastOut: () => lastOut,
    serverTransactions: () => transactions.serverTransactionCount as number,
    async close() {
      await registrar.close();
      transactions.stop();
    },
  };
}

/** The i-th REGISTER (user i mod N), with an Authorization value or without. */
export function register(users: readonly BenchUser[], i: number, auth?: string): Buffer {
  const u = users[i % users.length]!;
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

/** The Authorization value answering `challenge` (its nonce) for the i-th REGISTER, qop=auth, nc=1. */
export function answer(users: readonly BenchUser[], i: number, challenge: string): string {
  const u = users[i % users.length]!;
  const nonce = /nonce="([^"]+)"/.exec(challenge)?.[1] ?? '';
  const cnonce = `cn${i}`;
  const nc = '00000001';
  const uri = `sip:${REALM}`;
  const response = registerResponse(u.ha1, nonce, uri, { nc, cnonce });
  return `Digest username="${u.username}",realm="${REALM}",nonce="${nonce}",uri="${uri}",response="${response}",algorithm=MD5,cnonce="${cnonce}",qop=auth,nc=${nc}`;
}
