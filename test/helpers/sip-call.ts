import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ha1Of } from '../../agent/test/auth/digest-client.js';
import { type SpawnedAgent, startAgent } from '../../agent/test/helpers/spawn-agent.js';

/** SIP and RTP material for tests that carry a real call through an agent (agent, SIPp scenarios, RTP). */

/** The phone side (inside) is 127.0.0.1; the agent's outside is 127.0.0.2; the outside caller 127.0.0.3. */
export const INSIDE_IP = '127.0.0.1';
export const OUTSIDE_IP = '127.0.0.2';
export const CALLER_IP = '127.0.0.3';

/**
 * Starts a real agent enrolled to the control plane at `cpUrl`: inside on INSIDE_IP, outside on
 * OUTSIDE_IP (UDP, ports chosen by the agent), relay media on 100 ports from `mediaBase`, one
 * SIP user allowed to register from the inside. Resolves with its SIP ports once it listens.
 */
export async function startCallAgent(p: {
  dir: string;
  site: string;
  cpUrl: string;
  enrollmentToken: string;
  domain: string;
  user: { user: string; password: string };
  mediaBase: number;
}): Promise<{ agent: SpawnedAgent; insidePort: number; outsidePort: number }> {
  const configFile = join(p.dir, 'agent.yaml');
  writeFileSync(
    configFile,
    JSON.stringify({
      site: p.site,
      stateDir: join(p.dir, 'state'),
      controlPlane: { url: p.cpUrl, enrollmentToken: p.enrollmentToken },
      sip: {
        domains: [p.domain],
        interfaces: [
          { name: 'inside', role: 'inside', address: INSIDE_IP, port: 0, transports: ['udp'] },
          { name: 'outside', role: 'outside', address: OUTSIDE_IP, port: 0, transports: ['udp'] },
        ],
      },
      admin: { address: '127.0.0.1', port: 0 },
      media: { driver: 'relay', portMin: p.mediaBase, portMax: p.mediaBase + 99 },
      users: [
        {
          username: p.user.user,
          domain: p.domain,
          ha1: { md5: ha1Of('md5', p.user.user, p.domain, p.user.password) },
        },
      ],
      policies: { registerAllowFrom: [`${INSIDE_IP}/32`] },
    }),
  );
  const started = await startAgent(['--config', configFile, '--admin-port', '0']);
  const sip = started.ready.sip as { interface: string; port: number }[];
  return {
    agent: started.agent,
    insidePort: sip.find((l) => l.interface === 'inside')?.port ?? 0,
    outsidePort: sip.find((l) => l.interface === 'outside')?.port ?? 0,
  };
}

/** An outside caller (SIPp UAC): INVITE (SDP) → 200 → ACK, holds the call for `holdMs`, then BYE. */
export function holdingCallScenario(domain: string, holdMs: number): string {
  const dialog = `From: <sip:carol@caller.test>;tag=[pid]-uac-[call_number]
      Call-ID: [call_id]
      Max-Forwards: 70`;
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="sipwall-dashboard-uac">
  <send retrans="500" start_txn="invite">
    <![CDATA[

      INVITE sip:bob@${domain} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      ${dialog}
      To: <sip:bob@${domain}>
      CSeq: 1 INVITE
      Contact: <sip:carol@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=carol 1 1 IN IP4 [local_ip]
      s=dashboard
      c=IN IP4 [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000

    ]]>
  </send>
  <recv response="100" optional="true" response_txn="invite"/>
  <recv response="180" optional="true" response_txn="invite"/>
  <recv response="200" rrs="true" response_txn="invite"/>
  <send ack_txn="invite">
    <![CDATA[

      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      [routes]
      ${dialog}
      [last_To:]
      CSeq: 1 ACK
      Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="${holdMs}"/>
  <send retrans="500" start_txn="bye">
    <![CDATA[

      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      [routes]
      ${dialog}
      [last_To:]
      CSeq: 2 BYE
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" response_txn="bye"/>
</scenario>
`;
}

/** One RTP packet (RFC 3550 §5.1 header, PCMU, 20 ms of silence). */
export function rtpPacket(seq: number): Buffer {
  const b = Buffer.alloc(12 + 160, 0xff);
  b[0] = 0x80;
  b[1] = 0;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 160, 4);
  b.writeUInt32BE(0x5eed1234, 8);
  return b;
}
