/** SIP and RTP material for tests that carry a real call through an agent (SIPp scenarios, RTP). */

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
