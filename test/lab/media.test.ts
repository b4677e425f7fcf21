/**
 * Media through the firewall with real phones (issue 10 done-when): baresip "alice" on the LAN
 * (192.168.77.10) sends a 440 Hz tone, baresip "bob" on the WAN (203.0.113.10) a 1000 Hz tone;
 * they call each other through the agent in the lab's fw namespace, and each side's recording
 * must hold the other side's tone. Once with the kernel driver (nftables pinholes: the fw's
 * `Udp: InDatagrams` grows by the SIP messages only, not by the RTP) and once with the user-space
 * relay. During a call a third party on the WAN sprays the call's public media port (dropped,
 * the audio unaffected), alice puts the call on hold and resumes it (media flows again after
 * resume); after the BYE the call's pinholes are gone; after a `kill -9` of the agent in the
 * middle of a call and a restart, no pinhole of the dead call is left in the kernel.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_ADDR, type Lab, labSkipReason, labUp } from '../../infra/lab/lab.js';
import { BaresipPhone, baresipSkipReason } from '../helpers/baresip.js';
import { poll, sleep } from '../helpers/poll.js';
import { type LabAgent, labAgentConfig, startLabAgent } from '../helpers/lab-agent.js';
import { readWav, secondsOfTone, writeToneWav } from '../helpers/wav.js';

const skip = labSkipReason() ?? baresipSkipReason();
const title = (name: string) => `${name}${skip ? ` (skipped: ${skip})` : ''}`;

const ALICE_ADDR = LAB_ADDR.phones[0];
const BOB_ADDR = LAB_ADDR.peers[0];
const STRANGER = LAB_ADDR.peers[1];
const ALICE_HZ = 440;
const BOB_HZ = 1000;
const WAIT_MS = 8_000;
const PORT_MIN = 40_000;
const PORT_MAX = 40_999;

interface SessionsView {
  count: number;
  sessions: {
    callId: string;
    streams: {
      sides: { interface: string; role: string; local?: { address: string; port: number } }[];
      counters?: { aToB: { packets: number }; bToA: { packets: number }; dropped: number };
      quality?: {
        aToB: { mos?: number; report?: { lossPercent: number; jitterMs: number } };
        bToA: { mos?: number; report?: { lossPercent: number; jitterMs: number } };
        oneWay: boolean;
      };
    }[];
  }[];
}

/** `Udp: InDatagrams` of a namespace (datagrams delivered to its user space). */
async function udpInDatagrams(lab: Lab, ns: 'fw'): Promise<number> {
  const r = await lab.exec(ns, 'cat', ['/proc/net/snmp']);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('Udp:'));
  const names = (lines[0] ?? '').split(/\s+/);
  const values = (lines[1] ?? '').split(/\s+/);
  return Number(values[names.indexOf('InDatagrams')]);
}

/** Elements of the media layer's pinhole maps in the kernel (the fw's `inet sipwall` table). */
async function kernelPinholeElements(lab: Lab): Promise<number> {
  const r = await lab.exec('fw', 'nft', ['-j', 'list', 'table', 'inet', 'sipwall'], { check: false });
  if (r.code !== 0) return 0;
  const doc = JSON.parse(r.stdout) as { nftables: { map?: { name: string; elem?: unknown[] } }[] };
  return doc.nftables
    .filter((o) => o.map?.name.startsWith('media_') === true)
    .reduce((n, o) => n + (o.map?.elem?.length ?? 0), 0);
}

function account(user: 'alice' | 'bob', registrar: string, transport: 'udp' | 'tcp'): string {
  const tp = transport === 'tcp' ? ';transport=tcp' : '';
  return `<sip:${user}@example.test>;auth_pass=${user}-secret;outbound="sip:${registrar}${tp}";regint=60;answermode=auto`;
}

for (const driver of ['nftables', 'relay'] as const) {
  describe.skipIf(skip)(title(`real phones hear each other through the agent (${driver} driver)`), () => {
    let lab: Lab;
    let agent: LabAgent;
    let dir: string;
    let stateDir: string;
    const phones: BaresipPhone[] = [];

    const config = () =>
      labAgentConfig(stateDir, { media: { driver, portMin: PORT_MIN, portMax: PORT_MAX } });

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), `sipwall-media-${driver}-`));
      stateDir = join(dir, 'agent-state');
      writeToneWav(join(dir, 'alice.wav'), ALICE_HZ, 30);
      writeToneWav(join(dir, 'bob.wav'), BOB_HZ, 30);
      lab = await labUp();
      agent = await startLabAgent(lab, config());
    });

    afterAll(async () => {
      await Promise.all(phones.map((p) => p.stop()));
      await agent?.stop();
      await lab?.down();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    async function startPhones(tag: string, transport: 'udp' | 'tcp'): Promise<[BaresipPhone, BaresipPhone]> {
      const phone = (
        name: 'alice' | 'bob',
        ns: 'lan' | 'wan',
        address: string,
        ctrlPort: number,
        registrar: string,
      ) =>
        BaresipPhone.start(lab, name, {
          ns,
          dir: join(dir, `${name}-${tag}`),
          address,
          ctrlPort,
          account: account(name, registrar, transport),
          audio: { source: join(dir, `${name}.wav`), recordDir: join(dir, `${name}-${tag}`) },
        });
      const [alice, bob] = await Promise.all([
        phone('alice', 'lan', ALICE_ADDR, 4444, LAB_ADDR.fwInside),
        phone('bob', 'wan', BOB_ADDR, 4445, LAB_ADDR.fwOutside),
      ]);
      phones.push(alice, bob);
      await poll(
        () => agent.admin<{ count: number }>('/registrations'),
        (v) => v.count >= 2,
        WAIT_MS,
      );
      return [alice, bob];
    }

    /** Seconds of `hz` in the audio `phone` heard (its sndfile `…-dec.wav` recordings). */
    function heard(tag: string, phone: 'alice' | 'bob', hz: number): number {
      const d = join(dir, `${phone}-${tag}`);
      const files = readdirSync(d).filter((f) => f.startsWith('dump-') && f.endsWith('-dec.wav'));
      return files.reduce((s, f) => {
        const wav = readWav(join(d, f));
        return s + secondsOfTone(wav, hz);
      }, 0);
    }

    // The kernel path over both signalling transports; the relay over UDP.
    for (const transport of driver === 'nftables' ? (['udp', 'tcp'] as const) : (['udp'] as const))
      it(`SIP over ${transport.toUpperCase()}: calls both ways with audio heard on both sides; strangers dropped; hold and resume; pinholes gone after BYE`, async () => {
        const tag = `calls-${transport}`;
        const [alice, bob] = await startPhones(tag, transport);
        const udpBefore = await udpInDatagrams(lab, 'fw');
        try {
          for (const [caller, callee, uri] of [
            [alice, bob, 'sip:bob@example.test'],
            [bob, alice, 'sip:alice@example.test'],
          ] as const) {
            const c0 = caller.events.length;
            const e0 = callee.events.length;
            expect((await caller.command('dial', uri)).ok).toBe(true);
            await Promise.all([
              caller.waitEvent('CALL_ESTABLISHED', WAIT_MS, c0),
              callee.waitEvent('CALL_ESTABLISHED', WAIT_MS, e0),
            ]);
            const view = await poll(
              () => agent.admin<SessionsView>('/sessions'),
              (v) => v.count === 1 && (v.sessions[0]?.streams[0]?.counters?.aToB.packets ?? 0) > 20,
              WAIT_MS,
            );
            const stream = view.sessions[0]!.streams[0]!;
            const publicPort = stream.sides.find((s) => s.role === 'outside')?.local?.port;
            expect(publicPort).toBeGreaterThanOrEqual(PORT_MIN);
            expect(publicPort).toBeLessThanOrEqual(PORT_MAX);

            // A stranger sprays the call's public media port: dropped, counted, the call unaffected.
            const spray = `const s=require('dgram').createSocket('udp4');s.bind(0,'${STRANGER}',()=>{let n=0;const t=setInterval(()=>{s.send(Buffer.alloc(172,7),${publicPort},'${LAB_ADDR.fwOutside}');if(++n>=200){clearInterval(t);s.close();}},5);});`;
            await lab.exec('wan', process.execPath, ['-e', spray], { timeoutMs: 10_000 });
            await sleep(1500);
            // Hold and resume (re-INVITEs with a=sendonly, then sendrecv): media flows again after.
            expect((await alice.command('hold')).ok).toBe(true);
            await sleep(1000);
            expect((await alice.command('resume')).ok).toBe(true);
            const beforeResume = (await agent.admin<SessionsView>('/sessions')).sessions[0]!.streams[0]!
              .counters!;
            const afterResume = await poll(
              () => agent.admin<SessionsView>('/sessions'),
              (v) => {
                const c = v.sessions[0]?.streams[0]?.counters;
                return (
                  c !== undefined &&
                  c.aToB.packets > beforeResume.aToB.packets + 50 &&
                  c.bToA.packets > beforeResume.bToA.packets + 50
                );
              },
              WAIT_MS,
            );
            const counters = afterResume.sessions[0]!.streams[0]!.counters!;
            expect(counters.dropped).toBeGreaterThanOrEqual(1);
            // Quality from the parties' RTCP receiver reports (RTCP takes the user-space path with
            // both drivers): a clean lab link scores G.711 above MOS 4, and no direction is silent.
            const rated = await poll(
              () => agent.admin<SessionsView>('/sessions'),
              (v) => {
                const q = v.sessions[0]?.streams[0]?.quality;
                return q?.aToB.mos !== undefined && q.bToA.mos !== undefined;
              },
              WAIT_MS,
            );
            const quality = rated.sessions[0]!.streams[0]!.quality!;
            console.info(`[media ${driver} ${transport}] quality ${JSON.stringify(quality)}`);
            expect(quality.aToB.mos).toBeGreaterThan(4);
            expect(quality.bToA.mos).toBeGreaterThan(4);
            expect(quality.oneWay).toBe(false);
            await sleep(1500);

            expect((await caller.command('hangup')).ok).toBe(true);
            await callee.waitEvent('CALL_CLOSED', WAIT_MS, e0);
            const after = await poll(
              () => agent.admin<SessionsView>('/sessions'),
              (v) => v.count === 0,
              3_000,
            );
            expect(after.sessions).toEqual([]);
            if (driver === 'nftables') expect(await kernelPinholeElements(lab)).toBe(0);
          }
          const udpDelta = (await udpInDatagrams(lab, 'fw')) - udpBefore;
          if (driver === 'nftables') {
            // Two calls of ~6 s each way at 50 packets/s would be >1,000 RTP datagrams: only SIP
            // (and the admin API's few HTTP exchanges, which are TCP) reach user space.
            expect(udpDelta).toBeLessThan(150);
          } else {
            expect(udpDelta).toBeGreaterThan(1000);
          }
          console.info(
            `[media ${driver} ${transport}] fw Udp InDatagrams grew by ${udpDelta} over two calls`,
          );
        } finally {
          await Promise.all([alice.stop(), bob.stop()]);
        }
        // Each side heard the other's tone, for seconds, and never its own.
        const aliceHeard = heard(tag, 'alice', BOB_HZ);
        const bobHeard = heard(tag, 'bob', ALICE_HZ);
        console.info(
          `[media ${driver}] alice heard ${aliceHeard} s of bob's tone, bob ${bobHeard} s of alice's`,
        );
        expect(aliceHeard).toBeGreaterThanOrEqual(4);
        expect(bobHeard).toBeGreaterThanOrEqual(4);
        expect(heard(tag, 'alice', ALICE_HZ)).toBeLessThan(1);
        expect(heard(tag, 'bob', BOB_HZ)).toBeLessThan(1);
      });

    if (driver === 'nftables') {
      it('after kill -9 in the middle of a call and a restart, no pinhole of the dead call is left', async () => {
        const [alice, bob] = await startPhones('crash', 'udp');
        try {
          const c0 = alice.events.length;
          expect((await alice.command('dial', 'sip:bob@example.test')).ok).toBe(true);
          await alice.waitEvent('CALL_ESTABLISHED', WAIT_MS, c0);
          await poll(
            () => kernelPinholeElements(lab),
            (n) => n > 0,
            WAIT_MS,
          );
          agent.process.kill('SIGKILL');
          await new Promise((r) => agent.process.once('exit', r));
          // The kernel keeps forwarding without the agent (that is the point of kernel pinholes).
          expect(await kernelPinholeElements(lab)).toBeGreaterThan(0);
          agent = await startLabAgent(lab, config());
          expect(await kernelPinholeElements(lab)).toBe(0);
          expect(agent.logs()).toMatch(/"strayPinholesRemoved":[1-9]/);
        } finally {
          await Promise.all([alice.stop(), bob.stop()]);
        }
      });
    }
  });
}
