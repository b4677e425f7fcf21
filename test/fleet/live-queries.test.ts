import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ControlPlane } from '@sipwall/control-plane';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort, haveSipp, runSipp, SKIP_SUFFIX, startSipp } from '../../agent/test/helpers/sipp.js';
import type { SpawnedAgent } from '../../agent/test/helpers/spawn-agent.js';
import { digestRegister } from '../../agent/test/sipp/register-scenarios.js';
import { createOperator } from '../../control-plane/server/src/db/queries/operators.js';
import { hashSecret } from '../../control-plane/server/src/security/password.js';
import { apiClient, eventually } from '../helpers/api-client.js';
import { controlPlaneOn, type ServicesUnderTest, servicesUnderTest } from '../helpers/services.js';
import {
  CALLER_IP,
  holdingCallScenario,
  INSIDE_IP,
  OUTSIDE_IP,
  rtpPacket,
  startCallAgent,
} from '../helpers/sip-call.js';

const ADMIN = { email: 'admin@live.test', password: 'live-e2e-password-1234' };
const DOMAIN = 'live.example.test';
const BOB = { user: 'bob', password: 'bob-live-pw' };
const UAS_SCENARIO = fileURLToPath(new URL('../lab/sipp/uas-answer.xml', import.meta.url));

/** What the tRPC client says about a refused query: the tRPC code and the domain code. */
async function refusal(
  p: Promise<unknown>,
): Promise<{ code: string; domainCode: string | null; message: string }> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof TRPCClientError)) throw e;
    const data = e.data as { code: string; domainCode: string | null };
    return { code: data.code, domainCode: data.domainCode, message: e.message };
  }
  throw new Error('expected the query to fail');
}

/**
 * Live queries end to end: control plane ↔ broker ↔ a real agent process with real SIP peers on
 * loopback (SIPp registers bob on the inside; an outside SIPp calls him through the agent with the
 * relay anchoring media). Runs on the embedded defaults and on PostgreSQL + Mosquitto.
 */
describe.skipIf(!haveSipp)(`live queries to a real agent over MQTT rpc${SKIP_SUFFIX}`, () => {
  let services: ServicesUnderTest;
  let cp: ControlPlane;
  let dir: string;
  let agent: SpawnedAgent | undefined;
  let agentId: string;
  let insidePort = 0;
  let outsidePort = 0;
  const api = () => apiClient(cp.url);
  let admin: ReturnType<typeof apiClient>;

  beforeAll(async () => {
    services = await servicesUnderTest();
    cp = await controlPlaneOn(services, ADMIN);
    dir = mkdtempSync(join(tmpdir(), 'sipwall-live-'));
    admin = api();
    await admin.auth.signIn.mutate(ADMIN);
    const org = await admin.organizations.create.mutate({ name: `Live e2e (${services.label})` });
    const site = await admin.sites.create.mutate({ organizationId: org.id, name: 'Live site' });
    const created = await admin.agents.create.mutate({ siteId: site.id, name: 'live-fw' });
    agentId = created.agent.id;
    ({ agent, insidePort, outsidePort } = await startCallAgent({
      dir: dir,
      site: 'live',
      cpUrl: cp.url,
      enrollmentToken: created.enrollmentToken,
      domain: DOMAIN,
      user: BOB,
      mediaBase: 40_000 + Math.floor(Math.random() * 200) * 100,
    }));
    await eventually('agent online', async () => (await admin.agents.get.query({ agentId })).online, 30_000);
  });

  afterAll(async () => {
    await agent?.stop(5000).catch(() => {});
    await cp?.stop();
    await services?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  let bobPort = 0;
  /** The call's Call-ID as live.calls showed it (for live.ladder). */
  let liveCallId = '';

  it('live.registrations returns the phone SIPp registered', async () => {
    bobPort = await freeUdpPort(INSIDE_IP);
    const reg = await runSipp({
      scenario: {
        xml: digestRegister({ user: BOB.user, domain: DOMAIN, password: BOB.password, expires: 600 }),
        name: 'reg.xml',
      },
      dir,
      remote: `${INSIDE_IP}:${insidePort}`,
      localIp: INSIDE_IP,
      localPort: bobPort,
      authUri: DOMAIN,
    });
    expect(reg.code, reg.output).toBe(0);
    const page = await admin.live.registrations.query({ agentId, limit: 50, offset: 0 });
    expect(page.total).toBe(1);
    expect(page.truncated).toBe(false);
    const row = page.rows[0]!;
    expect(row).toMatchObject({
      aor: `sip:bob@${DOMAIN}`,
      contact: `sip:bob@${INSIDE_IP}:${bobPort}`,
      source: `${INSIDE_IP}:${bobPort}`,
      transport: 'udp',
      mode: 'main',
      userAgent: 'sipwall-test-phone',
    });
    const left = Date.parse(row.expiresAt) - Date.now();
    expect(left).toBeGreaterThan(590_000);
    expect(left).toBeLessThanOrEqual(601_000);
    // Paging is the agent's: past the end there are no rows, and the total stays.
    expect(await admin.live.registrations.query({ agentId, limit: 10, offset: 1 })).toMatchObject({
      total: 1,
      rows: [],
    });
  });

  it('live.calls shows the active call with its anchored stream and live counters each way', async () => {
    expect(bobPort).not.toBe(0);
    const uas = await startSipp({
      scenario: { file: UAS_SCENARIO },
      dir,
      localIp: INSIDE_IP,
      localPort: bobPort,
      timeoutSec: 40,
      recvTimeoutMs: 30_000,
      extraArgs: ['-mi', INSIDE_IP, '-mp', String(await freeUdpPort(INSIDE_IP))],
    });
    const uac = await startSipp({
      scenario: { xml: holdingCallScenario(DOMAIN, 12_000), name: 'uac.xml' },
      dir,
      remote: `${OUTSIDE_IP}:${outsidePort}`,
      localIp: CALLER_IP,
      timeoutSec: 40,
      recvTimeoutMs: 10_000,
      // SIPp's Call-ID names the caller's loopback address, which on this all-loopback topology
      // looks like an inside address: topology hiding seals it on the way in and must give the
      // caller its own Call-ID back on every response, or SIPp would not match them.
      extraArgs: ['-mi', CALLER_IP, '-mp', String(await freeUdpPort(CALLER_IP))],
    });
    try {
      const page = await eventually(
        'a confirmed call in live.calls',
        async () => {
          const p = await admin.live.calls.query({ agentId, limit: 10, offset: 0 });
          return p.rows[0]?.state === 'confirmed' && p.rows[0].streams.length > 0 ? p : undefined;
        },
        8_000,
      );
      expect(page.total).toBe(1);
      const call = page.rows[0]!;
      liveCallId = call.callId;
      expect(call.from).toContain('sip:carol@caller.test');
      expect(call.to).toContain(`sip:bob@${DOMAIN}`);
      expect(call.direction).toBe('inbound');
      expect(call.answeredAt).not.toBeNull();
      expect(Date.parse(call.answeredAt!)).toBeGreaterThanOrEqual(Date.parse(call.startedAt));
      const stream = call.streams[0]!;
      expect(stream.media).toBe('audio');
      const outside = stream.sides.find((s) => s.interface === 'outside')!;
      const inside = stream.sides.find((s) => s.interface === 'inside')!;
      expect(outside.local).toMatch(new RegExp(`^${OUTSIDE_IP.replaceAll('.', '\\.')}:\\d+$`));
      expect(inside.local).toMatch(new RegExp(`^${INSIDE_IP.replaceAll('.', '\\.')}:\\d+$`));

      // Media from the outside party: the relay latches on the first packet and forwards to bob.
      const before = stream.sides[0]!.interface === 'outside' ? stream.aToB : stream.bToA;
      const [host, port] = outside.local!.split(':') as [string, string];
      const sock = createSocket('udp4');
      await new Promise<void>((r) => sock.bind(0, CALLER_IP, r));
      const sent = 25;
      for (let i = 0; i < sent; i++)
        await new Promise<void>((r) => sock.send(rtpPacket(i), Number(port), host, () => r()));
      sock.close();
      const counted = await eventually(
        'the packets in the live counters',
        async () => {
          const s = (await admin.live.calls.query({ agentId, limit: 10, offset: 0 })).rows[0]?.streams[0];
          if (s === undefined) return undefined;
          const fromOutside = s.sides[0]!.interface === 'outside' ? s.aToB : s.bToA;
          const toOutside = s.sides[0]!.interface === 'outside' ? s.bToA : s.aToB;
          return (fromOutside?.packets ?? 0) >= (before?.packets ?? 0) + sent
            ? { fromOutside, toOutside }
            : undefined;
        },
        6_000,
      );
      expect(counted.fromOutside!.packets).toBe((before?.packets ?? 0) + sent);
      expect(counted.fromOutside!.bytes).toBe((before?.bytes ?? 0) + sent * 172);
      expect(counted.toOutside?.packets ?? 0).toBe(0);
    } finally {
      const [u, s] = await Promise.all([uac.done, uas.done]);
      expect(u.code, u.output).toBe(0);
      expect(s.code, s.output).toBe(0);
    }
    // After the BYE the call is gone from the live view.
    await eventually(
      'no active call',
      async () => (await admin.live.calls.query({ agentId, limit: 10, offset: 0 })).total === 0,
    );
  });

  it('live.ladder returns the SIP messages of that call on both legs, in order', async () => {
    expect(liveCallId).not.toBe('');
    const ladder = await admin.live.ladder.query({ agentId, callId: liveCallId });
    expect(ladder.found).toBe(true);
    expect(ladder.truncated).toBe(false);
    const leg = (role: 'inside' | 'outside') =>
      ladder.messages
        .filter((m) => m.role === role)
        .map((m) => `${m.direction} ${m.method ?? `${m.status} ${m.cseqMethod}`}`)
        // SIPp resends its 200 until the ACK: one of each is the ladder's shape.
        .filter((x, i, all) => all.indexOf(x) === i);
    expect(leg('outside')).toEqual([
      'in INVITE',
      'out 100 INVITE',
      'out 180 INVITE',
      'out 200 INVITE',
      'in ACK',
      'in BYE',
      'out 200 BYE',
    ]);
    expect(leg('inside')).toEqual([
      'out INVITE',
      'in 180 INVITE',
      'in 200 INVITE',
      'out ACK',
      'out BYE',
      'in 200 BYE',
    ]);
    const outsideInvite = ladder.messages.find((m) => m.role === 'outside' && m.method === 'INVITE')!;
    expect(outsideInvite.peer).toMatch(new RegExp(`^${CALLER_IP.replaceAll('.', '\\.')}:\\d+$`));
    expect(outsideInvite.text).toMatch(/^INVITE sip:bob@/);
    // Topology hiding gives the legs different Call-IDs; the trace joined them into one call.
    const ids = new Set(ladder.messages.map((m) => m.callId));
    expect(ids.size).toBe(2);
    const times = ladder.messages.map((m) => Date.parse(m.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // Asked by the other leg's Call-ID, the same call.
    const other = [...ids].find((id) => id !== liveCallId)!;
    expect((await admin.live.ladder.query({ agentId, callId: other })).messages).toHaveLength(
      ladder.messages.length,
    );
    expect(await admin.live.ladder.query({ agentId, callId: 'no-such-call@x' })).toMatchObject({
      found: false,
      messages: [],
    });
  });

  it('an operator of another organization gets NOT_FOUND', async () => {
    const email = 'mallory@other.test';
    const password = 'mallory-password-1234';
    await createOperator(cp.database.db, {
      email,
      name: 'mallory',
      passwordHash: await hashSecret(password),
    });
    const mallory = api();
    await mallory.auth.signIn.mutate({ email, password });
    await mallory.organizations.create.mutate({ name: 'Other corp' });
    for (const query of [mallory.live.registrations, mallory.live.calls]) {
      const r = await refusal(query.query({ agentId, limit: 10, offset: 0 }));
      expect(r.code).toBe('NOT_FOUND');
    }
    expect((await refusal(mallory.live.ladder.query({ agentId, callId: liveCallId }))).code).toBe(
      'NOT_FOUND',
    );
  });

  it('once the agent is stopped, the next query fails fast with agent-offline', async () => {
    const exit = await agent!.stop(5000);
    expect(exit.code).toBe(0);
    agent = undefined;
    await eventually(
      'agent offline',
      async () => (await admin.agents.get.query({ agentId })).online === false,
    );
    const started = Date.now();
    const r = await refusal(admin.live.registrations.query({ agentId, limit: 10, offset: 0 }));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(r).toMatchObject({ code: 'PRECONDITION_FAILED', domainCode: 'agent-offline' });
    expect(r.message).toMatch(/offline/);
  });
});
