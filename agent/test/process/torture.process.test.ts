/**
 * RFC 4475 and RFC 5118 messages sent unchanged to the running agent over UDP and TCP, each
 * asserted against the treatment in its expected.json (fixtures/torture/extract.py). The agent
 * serves the RFCs' domains, so valid requests reach the registrar and the core, not just the
 * parser. At the end it must still be alive, healthy and of bounded size.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { authorizationHeader, ha1Of } from '../auth/digest-client.js';
import { type SpawnedAgent, startAgent } from '../helpers/spawn-agent.js';
import { type Answer, loadTorture, type TortureMessage } from '../sip/torture-fixtures.js';

/** TORTURE_ONLY=wsinv,bext01 narrows a local run to some messages. */
const only = process.env.TORTURE_ONLY?.split(',');
const messages = loadTorture().filter((m) => only === undefined || only.includes(m.name));
/**
 * Where the test's sockets live: a loopback address of this run's own (answers go to the top
 * Via's port, 5060 for most messages, so two runs on one machine must not share an address).
 */
const octet = () => 1 + Math.floor(Math.random() * 250);
const UDP_CLIENT = `127.${octet()}.${octet()}.${octet()}`;
const TCP_CLIENT = `127.${octet()}.${octet()}.${octet()}`;
/** How long to wait for a final answer, and how long silence must last to count as "none". */
const FINAL_WAIT_MS = 2500;
const SILENCE_MS = 700;

/** The RFC's users in example.com (test passwords; the agent gets only their HA1). */
const PASSWORDS: Record<string, string> = { 'j.user': 'j-secret', watson: 'w-secret', user: 'u-secret' };

const config = (stateDir: string) => `site: torture-test
stateDir: ${stateDir}
log:
  level: debug
sip:
  domains: [example.com, example.net, example.org]
  interfaces:
    - name: lan
      role: inside
      address: 127.0.0.1
      port: 0
      transports: [udp, tcp]
  # Nothing leaves loopback: foreign targets go to a closed local port, DNS to a closed local server.
  proxy:
    outboundProxy: 127.0.0.1:9
    dnsServers: ['127.0.0.1:1']
users:
${Object.entries(PASSWORDS)
  .map(
    ([username, password]) => `  - username: ${username}
    domain: example.com
    ha1: { md5: ${ha1Of('md5', username, 'example.com', password)} }`,
  )
  .join('\n')}
`;

/**
 * One agent per transport: the RFCs reuse branches (z9hG4bKkdjuw in a dozen messages), so the
 * same message on the second transport would match the first one's server transaction, still
 * alive for Timer J/H (§17.2.3), and be absorbed as a retransmission.
 */
let dir: string;
let agent: SpawnedAgent;
let adminPort = 0;
let udpPort = 0;
let tcpPort = 0;

async function startTortureAgent(): Promise<void> {
  dir = await mkdtemp(join(tmpdir(), 'sipwall-torture-'));
  const file = join(dir, 'agent.yaml');
  await writeFile(file, config(join(dir, 'state')));
  const started = await startAgent(['--config', file, '--admin-port', '0']);
  agent = started.agent;
  adminPort = started.adminPort;
  const sip = started.ready.sip as { transport: string; port: number }[];
  udpPort = sip.find((l) => l.transport === 'udp')?.port ?? 0;
  tcpPort = sip.find((l) => l.transport === 'tcp')?.port ?? 0;
}

async function stopTortureAgent(): Promise<void> {
  await agent?.stop(5000);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}

interface Reply {
  readonly status: number;
  readonly reason: string;
  readonly callId: string | undefined;
  readonly text: string;
}

function headerValue(text: string, long: string, short: string): string | undefined {
  const head = text.split('\r\n\r\n')[0] ?? '';
  const re = new RegExp(`^(?:${long}|${short})[ \\t]*:[ \\t]*(.*)$`, 'im');
  return re.exec(head)?.[1]?.trim();
}

function toReply(text: string): Reply | undefined {
  const m = /^SIP\/2\.0 (\d{3}) ?([^\r]*)\r\n/.exec(text);
  if (m === null) return undefined;
  return { status: Number(m[1]), reason: m[2] ?? '', callId: headerValue(text, 'Call-ID', 'i'), text };
}

/** Call-IDs of the requests in the message (dblreq holds two). */
function callIdsOf(m: TortureMessage): string[] {
  const text = m.bytes.toString('latin1');
  return [...text.matchAll(/^(?:Call-ID|i)[ \t]*:[ \t]*(.*?)\r?$/gim)].map((x) => (x[1] ?? '').trim());
}

/** Port of the top Via's sent-by (5060 when absent): where a UDP answer goes (§18.2.2). */
function topViaPort(m: TortureMessage): number {
  const text = m.bytes.toString('latin1').replace(/\r\n[ \t]+/g, ' ');
  const via =
    /^(?:Via|v)[ \t]*:[ \t]*SIP[ \t]*\/[ \t]*2\.0[ \t]*\/[ \t]*(\w+)[ \t]+(\[[^\]]*\]|[^\s;,:]+)(?::(\d+))?/im.exec(
      text,
    );
  if (via?.[3] !== undefined) return Number(via[3]);
  return via?.[1]?.toUpperCase() === 'TLS' ? 5061 : 5060;
}

const isRequest = (m: TortureMessage) => !m.bytes.toString('latin1').startsWith('SIP/');

function malformedDrops(): number {
  return agent.logs().filter((l) => l.msg === 'malformed message dropped').length;
}

/** Waits until `done` holds or `ms` pass (bounded). */
async function waitFor(done: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!done() && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
}

function mine(r: Reply, callId: string | undefined): boolean {
  if (callId === undefined) return r.callId === undefined;
  return r.callId === callId;
}

/** Binds `socket` to `port` on the client address, retrying briefly while a closed one lets go (bounded). */
async function bindUdp(socket: UdpSocket, port: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await new Promise<void>((res, rej) => {
        socket.once('error', rej);
        socket.bind(port, UDP_CLIENT, () => {
          socket.off('error', rej);
          res();
        });
      });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 40) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function sendUdp(m: TortureMessage, answer: Answer): Promise<Reply[]> {
  const got: Reply[] = [];
  const socket: UdpSocket = createSocket('udp4');
  socket.on('message', (b) => {
    const r = toReply(b.toString('latin1'));
    if (r !== undefined) got.push(r);
  });
  try {
    await bindUdp(socket, topViaPort(m));
    await new Promise<void>((res, rej) =>
      socket.send(m.bytes, udpPort, '127.0.0.1', (e) => (e ? rej(e) : res())),
    );
    await collect(m, answer, got);
    return got;
  } finally {
    await new Promise<void>((res) => {
      try {
        socket.close(() => res());
      } catch {
        res();
      }
    });
  }
}

async function sendTcp(m: TortureMessage, answer: Answer): Promise<Reply[]> {
  const got: Reply[] = [];
  let buffered = '';
  const sock = connect({ host: '127.0.0.1', port: tcpPort, localAddress: TCP_CLIENT });
  sock.setEncoding('latin1');
  sock.on('data', (d: string) => {
    buffered += d;
    // Frame by Content-Length (every answer the agent sends has one).
    for (;;) {
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) break;
      const cl = Number(headerValue(buffered.slice(0, end + 4), 'Content-Length', 'l') ?? 0);
      if (buffered.length < end + 4 + cl) break;
      const r = toReply(buffered.slice(0, end + 4 + cl));
      buffered = buffered.slice(end + 4 + cl);
      if (r !== undefined) got.push(r);
    }
  });
  sock.on('error', () => {});
  await new Promise<void>((res, rej) => {
    sock.once('connect', () => res());
    sock.once('error', rej);
  });
  try {
    sock.write(m.bytes);
    await collect(m, answer, got);
    return got;
  } finally {
    sock.destroy();
  }
}

/** Waits for the answer the expectation needs: a final response, or silence. */
async function collect(m: TortureMessage, answer: Answer, got: Reply[]): Promise<void> {
  const callId = callIdsOf(m)[0];
  const final = () => got.some((r) => r.status >= 200 && mine(r, callId));
  if (answer.class === 'none') await waitFor(() => got.some((r) => mine(r, callId)), SILENCE_MS);
  else await waitFor(final, FINAL_WAIT_MS);
  // dblreq: give a stray answer to the trailing INVITE time to show up.
  if (callIdsOf(m).length > 1) await new Promise((r) => setTimeout(r, SILENCE_MS));
}

/** Checks one message's answers; returns the failure, or undefined when it passed. */
function verdict(
  m: TortureMessage,
  answer: Answer,
  got: Reply[],
  dropped: boolean,
  udp: boolean,
): string | undefined {
  const [callId, trailing] = callIdsOf(m);
  const replies = got.filter((r) => mine(r, callId));
  const final = replies.find((r) => r.status >= 200);
  const seen = replies.map((r) => `${r.status} ${r.reason}`).join(' | ') || 'nothing';
  if (udp && trailing !== undefined && got.some((r) => r.callId === trailing)) {
    return `answered the octets after Content-Length (${trailing})`;
  }
  switch (answer.class) {
    case 'none':
      return replies.length === 0 ? undefined : `expected no answer, got ${seen}`;
    case 'status':
      if (final === undefined || !answer.status.includes(final.status)) {
        return `expected ${answer.status.join('/')}, got ${seen}`;
      }
      if (answer.reason !== undefined && !final.reason.includes(answer.reason)) {
        return `expected a reason naming ${answer.reason}, got "${final.reason}"`;
      }
      return undefined;
    case 'final':
      if (final === undefined) return `expected a final answer, got ${seen}`;
      if (answer.not.includes(final.status))
        return `expected anything but ${answer.not.join('/')}, got ${seen}`;
      return dropped ? 'dropped as malformed' : undefined;
    case 'not-rejected':
      if (replies.some((r) => r.status === 400)) return `rejected: ${seen}`;
      return dropped ? 'dropped as malformed' : undefined;
  }
}

const tally: Record<string, { pass: number; total: number }> = {};

function record(transport: string, m: TortureMessage, ok: boolean): void {
  const key = `${transport} RFC ${m.expected.rfc} ${m.expected.verdict}`;
  const t = tally[key] ?? { pass: 0, total: 0 };
  tally[key] = t;
  t.total++;
  if (ok) t.pass++;
}

describe.each([
  ['udp', sendUdp],
  ['tcp', sendTcp],
] as const)('agent process: RFC 4475 / RFC 5118 over %s', (transport, send) => {
  beforeAll(startTortureAgent, 30_000);
  afterAll(stopTortureAgent);

  it('gives every message the treatment its RFC describes', { timeout: 240_000 }, async () => {
    const failures: string[] = [];
    for (const m of messages) {
      const answer = transport === 'udp' ? m.expected.udp : m.expected.tcp;
      const before = malformedDrops();
      const got = await send(m, answer);
      // Dropped-as-malformed log lines come from the agent's own debug log, a moment later.
      await new Promise((r) => setTimeout(r, 20));
      const dropped = isRequest(m) && malformedDrops() > before;
      const why = verdict(m, answer, got, dropped, transport === 'udp');
      record(transport, m, why === undefined);
      if (why !== undefined) failures.push(`${m.id} (§${m.expected.section}): ${why}`);
    }
    const counts = Object.entries(tally)
      .filter(([k]) => k.startsWith(transport))
      .map(([k, v]) => `${k}: ${v.pass}/${v.total}`);
    console.log(`torture ${transport}: ${counts.join(', ')}`);
    expect(failures).toEqual([]);
  });

  it('leaves the agent alive, healthy and of bounded size', async () => {
    if (process.env.TORTURE_DEBUG !== undefined) console.log(agent.stdout().slice(-20000));
    expect(agent.child.exitCode).toBeNull();
    const health = await fetch(`http://127.0.0.1:${adminPort}/healthz`, {
      signal: AbortSignal.timeout(5000),
    });
    expect(health.status).toBe(200);
    const status = readFileSync(`/proc/${agent.pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
    expect(rssKb).toBeGreaterThan(0);
    expect(rssKb).toBeLessThan(400 * 1024);
  });
});

/**
 * RFC 4475 §3.3.12–3.3.14 say these REGISTERs "should succeed" and §3.1.2.13 may be refused:
 * the registrar challenges first, so the test answers the challenge as the phone would (same
 * request, CSeq + 1, a new branch, an Authorization) and checks the bound contact in the 200.
 */
describe('agent process: RFC 4475 REGISTERs once authenticated', () => {
  // A fresh agent each: cparam01 and cparam02 register equal URIs (§19.1.4) for the same user.
  beforeEach(startTortureAgent, 30_000);
  afterEach(stopTortureAgent);

  const cases: ReadonlyArray<readonly [string, number, (contact: string) => boolean]> = [
    // §3.3.12: ";unknownparam" is a contact-param, so it is not in the bound URI.
    ['cparam01', 200, (c) => /<sip:\+19725552222@gw1\.example\.net>/.test(c)],
    // §3.3.13: inside <>, ";unknownparam" is a url-parameter of the bound URI.
    ['cparam02', 200, (c) => /<sip:\+19725552222@gw1\.example\.net;unknownparam>/.test(c)],
    // §3.3.14: the escaped Route header stays in the bound URI.
    ['regescrt', 200, (c) => c.includes('<sip:user@example.com?Route=%3Csip:sip.example.com%3E>')],
    // §3.1.2.13: a name-addr with a header needs <>: 400 once the registrar reads the Contact.
    ['regbadct', 400, () => true],
  ];

  it.each(cases)('%s → %i', async (name, want, bound) => {
    const m = messages.find((x) => x.name === name);
    if (m === undefined) return; // narrowed out by TORTURE_ONLY
    const first = await sendUdp(m, m.expected.udp);
    const challenge = first.find((r) => r.status === 401);
    expect(challenge, `${name}: ${first.map((r) => r.status).join(',')}`).toBeDefined();
    const nonce = /nonce="([^"]+)"/.exec(challenge?.text ?? '')?.[1] ?? '';
    const username = /^(?:To|t)[ \t]*:.*sip:([^@]+)@/im.exec(m.bytes.toString('latin1'))?.[1] ?? '';
    const auth = authorizationHeader({
      hash: 'md5',
      username,
      realm: 'example.com',
      password: PASSWORDS[username] ?? '',
      method: 'REGISTER',
      uri: 'sip:example.com',
      nonce,
      nc: '00000001',
      cnonce: 'torture1',
    });
    const text = m.bytes
      .toString('latin1')
      .replace(/^(CSeq:[ \t]*)(\d+)/im, (_x, p: string, n: string) => `${p}${Number(n) + 1}`)
      .replace(/branch=([^;\s]+)/i, 'branch=$1-auth')
      .replace(/\r\n\r\n/, `\r\nAuthorization: ${auth}\r\n\r\n`);
    const again = { ...m, bytes: Buffer.from(text, 'latin1') };
    const second = await sendUdp(again, { class: 'status', status: [want] });
    const final = second.find((r) => r.status >= 200);
    expect(final?.status, `${name}: ${final?.status} ${final?.reason}`).toBe(want);
    if (want === 200) {
      const contacts = [...(final?.text ?? '').matchAll(/^(?:Contact|m)[ \t]*:[ \t]*(.*)$/gim)].map(
        (x) => x[1],
      );
      expect(
        contacts.some((c) => bound(c ?? '')),
        contacts.join(' | '),
      ).toBe(true);
    }
  });
});
