import { describe, expect, it } from 'vitest';
import { type HideOptions, hideForOutside, openContact, revealFromOutside } from '../../src/proxy/hiding.js';
import { Sealer } from '../../src/proxy/seal.js';
import { serializeMessage } from '../../src/sip/index.js';
import type { SipUri } from '../../src/sip/message.js';
import { parseUri } from '../../src/sip/uri.js';
import { aResponse, anInvite } from '../sip/builders.js';
import { INSIDE, interfaces, OUTSIDE, sealer } from './proxy-fixtures.js';

const FLOW = { protocol: 'udp' as const, address: '192.168.77.10', port: 5062 };

function opts(extra: Partial<HideOptions> = {}): HideOptions {
  const map = interfaces();
  return {
    interfaces: map,
    sealer,
    out: map.get('outside')!,
    protocol: 'udp',
    strip: ['user-agent', 'server', 'p-*'],
    hide: true,
    ...extra,
  };
}

/** An INVITE from alice on the LAN as the agent forwards it out (RR pair added, Via already ours). */
function insideInvite() {
  return anInvite({
    requestUri: 'sip:carol@far.example',
    via: [`SIP/2.0/UDP ${OUTSIDE}:5060;branch=z9hG4bK-sw1.x`],
    from: '"Alice" <sip:alice@192.168.77.10>;tag=a1',
    callId: '4711@192.168.77.10',
    contact: '<sip:alice@192.168.77.10:5062;transport=udp>;expires=60',
    headers: [
      ['Record-Route', `<sip:${OUTSIDE}:5060;lr>, <sip:${INSIDE}:5060;lr>, <sip:192.168.77.2;lr>`],
      ['User-Agent', 'Phone 1.0'],
      ['P-Preferred-Identity', '<sip:alice@192.168.77.10>'],
      ['Referred-By', '<sip:alice@192.168.77.10>'],
      ['Subject', 'lunch at 10.0.0.1?'],
    ],
  });
}

describe('hideForOutside', () => {
  it('leaves no inside address in the start line or any header', () => {
    const out = hideForOutside(insideInvite(), FLOW, opts());
    const text = serializeMessage(out).toString('latin1');
    const head = text.slice(0, text.indexOf('\r\n\r\n'));
    expect(head).not.toMatch(/192\.168\.77\./);
    expect(head).toContain(`Contact: <sip:alice@${OUTSIDE}:5060;swc=`);
    expect(head).toContain(';expires=60');
    expect(head).toMatch(/Call-ID: sw1[A-Za-z0-9_-]+\r\n/);
    expect(head).toContain(`From: "Alice" <sip:alice@${OUTSIDE}>;tag=a1`);
    expect(head).toContain(`Referred-By: <sip:alice@${OUTSIDE}>`);
    // Addresses that are not inside ones stay; stripped headers are gone.
    expect(head).toContain('Subject: lunch at 10.0.0.1?');
    expect(head).not.toMatch(/User-Agent|P-Preferred-Identity/);
    // One Record-Route entry: ours, with the inside part sealed in it.
    expect(out.headers.filter((h) => h.key === 'record-route').map((h) => h.value)).toEqual([
      expect.stringMatching(new RegExp(`^<sip:${OUTSIDE}:5060;lr;swr=[A-Za-z0-9_-]+>$`)),
    ]);
  });

  it('only rewrites Contact when hiding is off (NAT traversal still needs it)', () => {
    const out = hideForOutside(insideInvite(), FLOW, opts({ hide: false }));
    expect(out.callId).toBe('4711@192.168.77.10');
    expect(out.headers.find((h) => h.key === 'contact')!.value).toContain(`${OUTSIDE}:5060;swc=`);
    expect(out.headers.filter((h) => h.key === 'record-route')).toHaveLength(1);
    expect(out.headers.find((h) => h.key === 'user-agent')).toBeDefined();
  });

  it('seals the contact with the flow it came from', () => {
    const out = hideForOutside(insideInvite(), FLOW, opts());
    const uri = /<([^>]+)>/.exec(out.headers.find((h) => h.key === 'contact')!.value)![1]!;
    expect(openContact(parseUri(uri) as SipUri, sealer)).toEqual({
      uri: 'sip:alice@192.168.77.10:5062;transport=udp',
      flow: FLOW,
    });
    // Another key cannot open it.
    expect(openContact(parseUri(uri) as SipUri, new Sealer(Buffer.alloc(64, 9)))).toBeUndefined();
  });

  it('hides the inside part before our entry in a response to a request that went inside', () => {
    const req = anInvite({ requestUri: 'sip:alice@192.168.77.10' });
    const resp = aResponse(200, req, {
      headers: [
        [
          'Record-Route',
          `<sip:192.168.77.2;lr>, <sip:${INSIDE}:5060;lr>, <sip:${OUTSIDE}:5060;lr>, <sip:198.51.100.7;lr>`,
        ],
        ['Contact', '<sip:alice@192.168.77.10:5062>'],
        ['Server', 'Phone 1.0'],
      ],
    });
    const out = hideForOutside(resp, FLOW, opts());
    const rr = out.headers.filter((h) => h.key === 'record-route').map((h) => h.value);
    expect(rr).toHaveLength(2);
    expect(rr[0]).toMatch(new RegExp(`^<sip:${OUTSIDE}:5060;lr;swr=`));
    expect(rr[1]).toBe('<sip:198.51.100.7;lr>');
    expect(out.headers.find((h) => h.key === 'server')).toBeUndefined();
  });
});

describe('revealFromOutside', () => {
  it('restores the Record-Route list and the Call-ID exactly', () => {
    const original = insideInvite();
    const hidden = hideForOutside(original, FLOW, opts());
    // The far end answers with the Record-Route list and Call-ID it received.
    const rr = hidden.headers.find((h) => h.key === 'record-route')!.value;
    const answer = aResponse(200, hidden, { headers: [['Record-Route', rr]] });
    const back = revealFromOutside(answer, opts());
    expect(back.callId).toBe('4711@192.168.77.10');
    expect(back.headers.filter((h) => h.key === 'record-route').map((h) => h.value)).toEqual([
      `<sip:${OUTSIDE}:5060;lr>`,
      `<sip:${INSIDE}:5060;lr>`,
      '<sip:192.168.77.2;lr>',
    ]);
  });

  it('leaves a Call-ID that merely looks like ours alone', () => {
    const req = anInvite({ callId: 'sw1-not-a-token@x' });
    expect(revealFromOutside(req, opts()).callId).toBe('sw1-not-a-token@x');
  });
});

describe('an outside Call-ID that looks like an inside one', () => {
  // The caller's own LAN uses the site's private range: its Call-ID names 192.168.77.50.
  const theirs = '9f1c@192.168.77.50';
  const fromOutside = () => anInvite({ requestUri: 'sip:alice@example.test', callId: theirs });

  it('is sealed on its way in and given back unchanged on everything the inside sends out', () => {
    const inside = revealFromOutside(fromOutside(), opts());
    expect(inside.callId).toMatch(/^sw0/);
    expect(inside.callId).not.toContain('192.168.77.50');
    // The inside callee answers and later hangs up with the Call-ID it was given.
    const answer = hideForOutside(aResponse(200, inside), FLOW, opts());
    expect(answer.callId).toBe(theirs);
    const bye = hideForOutside(anInvite({ method: 'BYE', callId: inside.callId }), FLOW, opts());
    expect(bye.callId).toBe(theirs);
    // Its next in-dialog request maps to the same inside Call-ID (the seal is deterministic).
    expect(revealFromOutside(fromOutside(), opts()).callId).toBe(inside.callId);
  });

  it('is given back even if hiding was turned off during the call', () => {
    const inside = revealFromOutside(fromOutside(), opts());
    expect(hideForOutside(aResponse(180, inside), FLOW, opts({ hide: false })).callId).toBe(theirs);
  });

  it('passes untouched when hiding is off, and an ordinary one passes untouched', () => {
    expect(revealFromOutside(fromOutside(), opts({ hide: false })).callId).toBe(theirs);
    const plain = anInvite({ callId: 'abc@203.0.113.9' });
    expect(revealFromOutside(plain, opts()).callId).toBe('abc@203.0.113.9');
    expect(hideForOutside(aResponse(200, plain), FLOW, opts()).callId).toBe('abc@203.0.113.9');
  });
});

describe('Sealer', () => {
  it('is deterministic per text and refuses altered tokens', () => {
    const a = sealer.seal('4711@192.168.77.10');
    expect(sealer.seal('4711@192.168.77.10')).toBe(a);
    expect(sealer.open(a)).toBe('4711@192.168.77.10');
    const altered = `${a.slice(0, 20)}${a[20] === 'A' ? 'B' : 'A'}${a.slice(21)}`;
    expect(sealer.open(altered)).toBeUndefined();
    expect(sealer.open('short')).toBeUndefined();
    expect(sealer.open('!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!')).toBeUndefined();
  });
});
