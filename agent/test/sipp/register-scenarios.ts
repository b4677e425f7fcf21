/** SIPp scenarios for the registrar tests, generated so users, passwords and expiries are per test. */

export interface PhoneSpec {
  readonly user: string;
  readonly domain: string;
  readonly password: string;
  /** Expires header; `null` leaves it out. */
  readonly expires?: number | string | null;
  /** `false`: no Contact header (a query). Default: the phone's own address. */
  readonly contact?: string | false;
  /** Final status expected after the authenticated REGISTER. */
  readonly expect?: number;
  /** A regexp the final response's Contact header must match (checked by SIPp). */
  readonly contactMatches?: string;
}

const xml = (body: string) => `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="sipwall registrar">
${body}
</scenario>
`;

function register(p: PhoneSpec, cseq: number, auth: boolean): string {
  const contact =
    p.contact === false ? '' : `Contact: ${p.contact ?? `<sip:${p.user}@[local_ip]:[local_port]>`}\n`;
  const expires = p.expires === null ? '' : `Expires: ${p.expires ?? 3600}\n`;
  const authLine = auth ? `[authentication username=${p.user} password=${p.password}]\n` : '';
  return `  <send>
    <![CDATA[
REGISTER sip:${p.domain} SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:${p.user}@${p.domain}>;tag=[pid]-[call_number]
To: <sip:${p.user}@${p.domain}>
Call-ID: [call_id]
CSeq: ${cseq} REGISTER
${contact}${expires}${authLine}Max-Forwards: 70
User-Agent: sipwall-test-phone
Content-Length: 0

]]>
  </send>
`;
}

/** REGISTER → 401 → REGISTER with digest → expected final status (200 by default). */
export function digestRegister(p: PhoneSpec): string {
  const check =
    p.contactMatches === undefined
      ? ''
      : `    <action><ereg regexp="${p.contactMatches}" search_in="hdr" header="Contact:" check_it="true" assign_to="c"/></action>\n`;
  const reference = p.contactMatches === undefined ? '' : '\n  <Reference variables="c"/>';
  return xml(`${register(p, 1, false)}  <recv response="401" auth="true"/>
${register(p, 2, true)}  <recv response="${p.expect ?? 200}">
${check}  </recv>${reference}`);
}

/** One REGISTER without credentials → the expected status (e.g. 403 for a forbidden source). */
export function plainRegister(p: PhoneSpec, expect: number): string {
  return xml(`${register(p, 1, false)}  <recv response="${expect}"/>`);
}

/** An outside registrar (SIPp UAS): answers one REGISTER with `status`, echoing the Contact with `expires`. */
export function upstreamRegistrar(status: number, expiresSec: number): string {
  const contact = status === 200 ? `Contact: [$contact];expires=${expiresSec}\n` : '';
  return xml(`  <recv request="REGISTER">
    <action><ereg regexp="&lt;[^&gt;]*&gt;" search_in="hdr" header="Contact:" check_it="true" assign_to="contact"/></action>
  </recv>
  <send>
    <![CDATA[
SIP/2.0 ${status} ${status === 200 ? 'OK' : 'Forbidden'}
[last_Via:]
[last_From:]
[last_To:];tag=[pid]upstream
[last_Call-ID:]
[last_CSeq:]
${contact}Content-Length: 0

]]>
  </send>
  <Reference variables="contact"/>`);
}

/** A phone for passive mode: one REGISTER, the upstream's answer relayed back. */
export function passiveRegister(p: PhoneSpec): string {
  return plainRegister(p, p.expect ?? 200);
}
