import { describe, expect, it } from 'vitest';
import { type BodyPolicy, checkBody } from '../../src/proxy/body-policy.js';
import { anInvite, DEFAULT_SDP } from '../sip/builders.js';

const policy = (p: Partial<BodyPolicy> = {}): BodyPolicy => ({
  allowedTypes: new Set(),
  deniedTypes: new Set(),
  maxMediaStreams: 2,
  ...p,
});

const multipart = (parts: { type: string; body: string }[], boundary = 'b-42') =>
  anInvite({
    contentType: `multipart/mixed;boundary=${boundary}`,
    body:
      parts.map((p) => `--${boundary}\r\nContent-Type: ${p.type}\r\n\r\n${p.body}\r\n`).join('') +
      `--${boundary}--\r\n`,
  });

describe('body policy (allowed/denied types, multipart part by part, streams)', () => {
  it('passes an allowed SDP and refuses a denied or not-allowed type with 415 + Accept', () => {
    expect(checkBody(anInvite(), policy())).toEqual({ ok: true });
    expect(checkBody(anInvite(), policy({ allowedTypes: new Set(['application/sdp']) }))).toEqual({
      ok: true,
    });
    const text = anInvite({ body: 'hi', contentType: 'text/plain' });
    expect(checkBody(text, policy({ allowedTypes: new Set(['application/sdp']) }))).toMatchObject({
      ok: false,
      status: 415,
      headers: [['Accept', 'application/sdp']],
    });
    expect(checkBody(text, policy({ deniedTypes: new Set(['text/plain']) }))).toMatchObject({
      ok: false,
      status: 415,
      headers: [['Accept', 'application/sdp']],
    });
  });

  it('judges a multipart body part by part: a denied type cannot hide inside one', () => {
    const body = multipart([
      { type: 'application/sdp', body: DEFAULT_SDP },
      { type: 'application/isup; version=itu-t92+', body: 'xx' },
    ]);
    expect(checkBody(body, policy())).toEqual({ ok: true });
    expect(checkBody(body, policy({ deniedTypes: new Set(['application/isup']) }))).toMatchObject({
      ok: false,
      status: 415,
    });
    expect(
      checkBody(body, policy({ allowedTypes: new Set(['application/sdp', 'application/isup']) })),
    ).toEqual({ ok: true });
    expect(checkBody(body, policy({ allowedTypes: new Set(['application/sdp']) }))).toMatchObject({
      ok: false,
      status: 415,
      headers: [['Accept', 'application/sdp']],
    });
  });

  it('counts media streams over the SDP parts (488) and refuses a multipart body that does not parse (400)', () => {
    const three = `${DEFAULT_SDP}m=video 5000 RTP/AVP 96\r\nm=video 5002 RTP/AVP 96\r\n`;
    expect(checkBody(anInvite({ body: three }), policy())).toMatchObject({ ok: false, status: 488 });
    expect(checkBody(multipart([{ type: 'application/sdp', body: three }]), policy())).toMatchObject({
      ok: false,
      status: 488,
    });
    const broken = anInvite({ contentType: 'multipart/mixed;boundary=zz', body: 'no delimiter here' });
    expect(checkBody(broken, policy())).toMatchObject({ ok: false, status: 400 });
    const noBoundary = anInvite({ contentType: 'multipart/mixed', body: '--x\r\n\r\n--x--' });
    expect(checkBody(noBoundary, policy())).toMatchObject({ ok: false, status: 400 });
  });
});
