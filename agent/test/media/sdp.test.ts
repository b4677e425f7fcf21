import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse as parseWithSdpTransform, write as writeWithSdpTransform } from 'sdp-transform';
import { describe, expect, it } from 'vitest';
import {
  describeStreams,
  type ParsedSdp,
  parseSdp,
  type RewritePlan,
  rewriteSdp,
  type StreamDescription,
  type StreamPlan,
} from '../../src/media/sdp/index.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/sdp');
const read = (name: string): Buffer => readFileSync(join(FIXTURES, name));

/** The agent's addresses in these fixtures: outside (towards the Internet) and inside (LAN). */
const OUTSIDE = '203.0.113.10';
const INSIDE = '192.168.1.1';
const anchor = (address: string, port: number): StreamPlan => ({ kind: 'anchor', local: { address, port } });
const PORT_ZERO: StreamPlan = { kind: 'port-zero' };

function parsed(body: Buffer | string): ParsedSdp {
  const result = parseSdp(body);
  if (!result.ok) throw new Error(`fixture does not parse: ${JSON.stringify(result.error)}`);
  return result.value;
}

function rewritten(body: Buffer | string, plan: RewritePlan): string {
  const result = rewriteSdp(parsed(body), plan);
  if (!result.ok) throw new Error(`rewrite failed: ${JSON.stringify(result.error)}`);
  return result.value.toString('latin1');
}

/** Each fixture `<name>.sdp` is rewritten with its plan and must equal `<name>.expected.sdp` byte for byte. */
const CASES: Record<string, RewritePlan> = {
  'baresip-offer': { address: OUTSIDE, streams: [anchor(OUTSIDE, 30000)] },
  'linphone-ice-offer': { address: OUTSIDE, streams: [anchor(OUTSIDE, 30000)] },
  'srtp-crypto': { address: INSIDE, streams: [anchor(INSIDE, 20000)] },
  'dtls-fingerprint': { address: OUTSIDE, streams: [anchor(OUTSIDE, 30000)] },
  'rtcp-mux-answer': { address: INSIDE, streams: [anchor(INSIDE, 20000)] },
  'audio-video': { address: OUTSIDE, streams: [anchor(OUTSIDE, 30000), anchor(OUTSIDE, 30002)] },
  'hold-sendonly': { address: OUTSIDE, streams: [anchor(OUTSIDE, 30000)] },
  'hold-inactive': { address: INSIDE, streams: [anchor(INSIDE, 20000)] },
  'hold-zero-address': { address: OUTSIDE, streams: [anchor(OUTSIDE, 30000)] },
  'stream-removal': { address: OUTSIDE, streams: [anchor(OUTSIDE, 30000), PORT_ZERO] },
  'reinvite-add-video': { address: OUTSIDE, streams: [anchor(OUTSIDE, 30000), anchor(OUTSIDE, 30002)] },
  'rtcp-3605': { address: OUTSIDE, streams: [anchor(OUTSIDE, 30000), anchor(OUTSIDE, 30002)] },
  'session-media-connection': {
    address: OUTSIDE,
    streams: [anchor(OUTSIDE, 30000), anchor(OUTSIDE, 30002)],
  },
  'ipv6-offer': { address: INSIDE, streams: [anchor(INSIDE, 20000)] },
  'answer-fewer-streams': { address: INSIDE, streams: [anchor(INSIDE, 20000), PORT_ZERO] },
  'multiple-connections': {
    address: OUTSIDE,
    streams: [anchor(OUTSIDE, 30000), anchor(OUTSIDE, 30002)],
  },
};

describe('rewriteSdp: fixtures', () => {
  it('has a plan for every input fixture and an expected output for every plan', () => {
    const inputs = readdirSync(FIXTURES)
      .filter((f) => f.endsWith('.sdp') && !f.endsWith('.expected.sdp'))
      .map((f) => f.slice(0, -4))
      .sort();
    expect(inputs).toEqual(Object.keys(CASES).sort());
  });

  for (const [name, plan] of Object.entries(CASES)) {
    it(`${name}: matches ${name}.expected.sdp byte for byte`, () => {
      expect(rewritten(read(`${name}.sdp`), plan)).toBe(read(`${name}.expected.sdp`).toString('latin1'));
    });
  }

  it('is stable: rewriting the output again with the same plan gives the same bytes', () => {
    for (const [name, plan] of Object.entries(CASES)) {
      const once = rewritten(read(`${name}.sdp`), plan);
      expect(rewritten(once, plan), name).toBe(once);
    }
  });

  it('keeps every line it does not edit, in order (sdp-transform write would reorder them)', () => {
    const input = read('linphone-ice-offer.sdp').toString('latin1').trimEnd().split('\r\n');
    const output = rewritten(read('linphone-ice-offer.sdp'), CASES['linphone-ice-offer']!).split('\r\n');
    const untouched = (l: string) => !/^(o|c|m)=|^a=rtcp:/.test(l);
    expect(output.filter(untouched).filter((l) => l !== '')).toEqual(input.filter(untouched));
    // Why the rewrite works on lines: sdp-transform's own round trip moves a=rtcp and a=candidate.
    const viaLibrary = writeWithSdpTransform(parseWithSdpTransform(input.join('\r\n')));
    expect(viaLibrary.split('\r\n')).not.toEqual(input);
  });

  it('ends every line with CRLF, also for an input with bare LF line ends', () => {
    const out = rewritten(read('rtcp-3605.sdp'), CASES['rtcp-3605']!);
    expect(read('rtcp-3605.sdp').includes('\r')).toBe(false);
    expect(out.endsWith('\r\n')).toBe(true);
    expect(out.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  });
});

describe('describeStreams', () => {
  const streamsOf = (name: string): readonly StreamDescription[] =>
    describeStreams(parsed(read(`${name}.sdp`)));

  it('baresip offer: one sendrecv RTP/AVP audio stream on the session c=, RTCP at port + 1', () => {
    expect(streamsOf('baresip-offer')).toEqual([
      {
        index: 0,
        media: 'audio',
        protocol: 'RTP/AVP',
        formats: ['0', '8', '96', '101'],
        port: 10406,
        numPorts: 1,
        connection: { ipVersion: 4, address: '192.168.1.20' },
        ipVersion: 4,
        rtcpPort: 10407,
        rtcpAddress: '192.168.1.20',
        rtcpMux: false,
        direction: 'sendrecv',
        hold: false,
      },
    ]);
  });

  it('RFC 3605 a=rtcp: the port, and the address when it names one', () => {
    const [first, second] = streamsOf('rtcp-3605');
    expect([first?.rtcpPort, first?.rtcpAddress]).toEqual([53020, '192.168.1.24']);
    expect([second?.rtcpPort, second?.rtcpAddress]).toEqual([53030, '192.168.1.23']);
  });

  it('rtcp-mux: flagged, with the RTCP port a=rtcp names', () => {
    const [stream] = streamsOf('rtcp-mux-answer');
    expect([stream?.rtcpMux, stream?.rtcpPort]).toEqual([true, 40000]);
    expect(streamsOf('dtls-fingerprint')[0]?.rtcpMux).toBe(true);
  });

  it('hold: a=sendonly (media level), a=inactive (session level, inherited), c=0.0.0.0', () => {
    expect(streamsOf('hold-sendonly').map((s) => [s.direction, s.hold])).toEqual([['sendonly', true]]);
    expect(streamsOf('hold-inactive').map((s) => [s.direction, s.hold])).toEqual([['inactive', true]]);
    expect(streamsOf('hold-zero-address').map((s) => [s.direction, s.hold])).toEqual([['sendrecv', true]]);
    expect(streamsOf('audio-video').map((s) => [s.direction, s.hold])).toEqual([
      ['sendrecv', false],
      ['sendrecv', false],
    ]);
  });

  it('a media-level direction overrides the session-level one', () => {
    const sdp = 'v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\na=sendonly\r\n';
    const streams = describeStreams(
      parsed(`${sdp}m=audio 4000 RTP/AVP 0\r\na=recvonly\r\nm=audio 4002 RTP/AVP 0\r\n`),
    );
    expect(streams.map((s) => [s.direction, s.hold])).toEqual([
      ['recvonly', false],
      ['sendonly', true],
    ]);
  });

  it('port 0: a removed or refused stream, RTCP port 0', () => {
    expect(streamsOf('answer-fewer-streams').map((s) => [s.media, s.port, s.rtcpPort])).toEqual([
      ['audio', 49174, 49175],
      ['video', 0, 0],
    ]);
  });

  it('the media-level c= overrides the session-level one; the first of several applies', () => {
    expect(streamsOf('session-media-connection').map((s) => s.connection?.address)).toEqual([
      '192.168.1.20',
      '192.168.1.25',
    ]);
    expect(streamsOf('multiple-connections').map((s) => s.connection?.address)).toEqual([
      '192.168.1.26',
      '192.168.1.28',
    ]);
  });

  it('IPv6: c=IN IP6 gives ipVersion 6', () => {
    const [stream] = streamsOf('ipv6-offer');
    expect([stream?.ipVersion, stream?.connection?.address, stream?.rtcpAddress]).toEqual([
      6,
      '2001:db8::20',
      '2001:db8::20',
    ]);
  });

  it('counts ports of m=<media> <port>/<count> (sdp-transform 3 reads no port at all there)', () => {
    const sdp =
      'v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=video 49170/2 RTP/AVP 31\r\n';
    const [stream] = describeStreams(parsed(sdp));
    expect([stream?.port, stream?.numPorts]).toEqual([49170, 2]);
    expect(parseWithSdpTransform(sdp).media[0]?.port).toBeUndefined();
  });

  it('an IPv6 unspecified address (::) counts as hold too', () => {
    const sdp = 'v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
    expect(describeStreams(parsed(sdp))[0]?.hold).toBe(true);
  });

  it('exposes sdp-transform details (codecs, crypto, ICE) for the session layer', () => {
    const details = parsed(read('srtp-crypto.sdp')).details;
    expect(details.media[0]?.rtp.map((r) => r.codec)).toEqual(['PCMU', 'telephone-event']);
    expect(details.media[0]?.crypto?.length).toBe(2);
    expect(parsed(read('linphone-ice-offer.sdp')).details.media[0]?.candidates?.length).toBe(4);
  });
});

describe('rewriteSdp: decisions beyond the fixtures', () => {
  const base = 'v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n';

  it('adds a c= to a stream whose endpoint is not the session address, after m= and i=', () => {
    const out = rewritten(`${base}m=audio 4000 RTP/AVP 0\r\ni=voice\r\na=rtpmap:0 PCMU/8000\r\n`, {
      address: OUTSIDE,
      streams: [anchor('203.0.113.11', 30000)],
    });
    expect(out).toBe(
      'v=0\r\no=- 1 1 IN IP4 203.0.113.10\r\ns=-\r\nc=IN IP4 203.0.113.10\r\nt=0 0\r\n' +
        'm=audio 30000 RTP/AVP 0\r\ni=voice\r\nc=IN IP4 203.0.113.11\r\na=rtpmap:0 PCMU/8000\r\n',
    );
  });

  it('adds a c= to a re-enabled stream that had none and no session c=', () => {
    const sdp = 'v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n';
    expect(rewritten(sdp, { address: OUTSIDE, streams: [anchor(OUTSIDE, 30000)] })).toContain(
      'm=audio 30000 RTP/AVP 0\r\nc=IN IP4 203.0.113.10\r\n',
    );
  });

  it('does not add a c= under a hold session c=0.0.0.0 (the stream stays on hold)', () => {
    const sdp =
      'v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
    const out = rewritten(sdp, { address: OUTSIDE, streams: [anchor('203.0.113.11', 30000)] });
    expect(out.match(/^c=.*$/gm)).toEqual(['c=IN IP4 0.0.0.0']);
  });

  it('keeps a media-level c=0.0.0.0 and an a=rtcp 0.0.0.0, rewrites the ports', () => {
    const out = rewritten(
      `${base}m=audio 4000 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\na=rtcp:4001 IN IP4 0.0.0.0\r\n`,
      {
        address: OUTSIDE,
        streams: [anchor(OUTSIDE, 30000)],
      },
    );
    expect(out).toContain('m=audio 30000 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\na=rtcp:30001 IN IP4 0.0.0.0\r\n');
  });

  it('drops the /<count> of an anchored or refused m= line', () => {
    const out = rewritten(`${base}m=video 49170/2 RTP/AVP 31\r\nm=video 49180/2 RTP/AVP 31\r\n`, {
      address: OUTSIDE,
      streams: [anchor(OUTSIDE, 30000), PORT_ZERO],
    });
    expect(out).toContain('m=video 30000 RTP/AVP 31\r\nm=video 0 RTP/AVP 31\r\n');
  });

  it('refuses a stream that had a port: port 0, its c= and a=rtcp address hidden, a=rtcp port kept', () => {
    const out = rewritten(
      `${base}m=audio 4000 RTP/AVP 0\r\nc=IN IP4 10.0.0.6\r\na=rtcp:4001 IN IP4 10.0.0.6\r\n`,
      {
        address: OUTSIDE,
        streams: [PORT_ZERO],
      },
    );
    expect(out).toContain(
      'm=audio 0 RTP/AVP 0\r\nc=IN IP4 203.0.113.10\r\na=rtcp:4001 IN IP4 203.0.113.10\r\n',
    );
  });

  it('rtcp-mux offer with a separate a=rtcp port: RTCP goes to RTP + 1 (the fallback, RFC 5761 §5.1.1)', () => {
    const out = rewritten(`${base}m=audio 4000 RTP/AVP 0\r\na=rtcp:4001\r\na=rtcp-mux\r\n`, {
      address: OUTSIDE,
      streams: [anchor(OUTSIDE, 30000)],
    });
    expect(out).toContain('a=rtcp:30001\r\na=rtcp-mux\r\n');
  });

  it('IPv4 to an IPv6 side: o=, c= and a=rtcp say IP6', () => {
    const out = rewritten(`${base}m=audio 4000 RTP/AVP 0\r\na=rtcp:4001 IN IP4 10.0.0.5\r\n`, {
      address: '2001:db8::1',
      streams: [anchor('2001:db8::1', 30000)],
    });
    expect(out).toBe(
      'v=0\r\no=- 1 1 IN IP6 2001:db8::1\r\ns=-\r\nc=IN IP6 2001:db8::1\r\nt=0 0\r\n' +
        'm=audio 30000 RTP/AVP 0\r\na=rtcp:30001 IN IP6 2001:db8::1\r\n',
    );
  });

  it('keeps the o= username, session id and version: only the address changes', () => {
    const out = rewritten(read('reinvite-add-video.sdp'), CASES['reinvite-add-video']!);
    expect(out).toContain('o=- 1652791431 2390671215 IN IP4 203.0.113.10\r\n');
  });

  it('passes bytes above 0x7f through unchanged (latin1 in, latin1 out)', () => {
    const body = Buffer.concat([
      Buffer.from('v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns='),
      Buffer.from('Grüße ☎', 'utf8'),
      Buffer.from('\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n'),
    ]);
    const result = rewriteSdp(parsed(body), { address: OUTSIDE, streams: [anchor(OUTSIDE, 30000)] });
    expect(result.ok && result.value.includes(Buffer.from('s=Grüße ☎\r\n', 'utf8'))).toBe(true);
  });

  it.each([
    ['plan-mismatch', { address: OUTSIDE, streams: [] }],
    ['plan-mismatch', { address: OUTSIDE, streams: [PORT_ZERO, PORT_ZERO] }],
    ['bad-address', { address: 'example.com', streams: [PORT_ZERO] }],
    ['bad-address', { address: OUTSIDE, streams: [anchor('300.1.1.1', 30000)] }],
    ['bad-port', { address: OUTSIDE, streams: [anchor(OUTSIDE, 0)] }],
    ['bad-port', { address: OUTSIDE, streams: [anchor(OUTSIDE, 65535)] }],
    ['bad-port', { address: OUTSIDE, streams: [anchor(OUTSIDE, 3000.5)] }],
  ] as const)('a plan that does not fit gives %s', (reason, plan) => {
    const result = rewriteSdp(parsed(`${base}m=audio 4000 RTP/AVP 0\r\n`), plan);
    expect(result.ok ? 'ok' : result.error.reason).toBe(reason);
  });
});

describe('parseSdp: invalid bodies are error values', () => {
  const good = read('audio-video.sdp').toString('latin1');
  const reasonOf = (body: Buffer | string, maxBytes?: number): string => {
    const result = parseSdp(body, maxBytes === undefined ? {} : { maxBytes });
    return result.ok ? 'ok' : result.error.reason;
  };

  it.each([
    ['not-sdp', 'an empty body', ''],
    ['not-sdp', 'plain text', 'hello world\r\n'],
    ['not-sdp', 'HTML', '<html><body>v=0</body></html>'],
    ['not-sdp', 'JSON', '{"v":0,"m":"audio"}'],
    ['not-sdp', 'v=1', good.replace('v=0', 'v=1')],
    ['not-sdp', 'a line that is not <type>=<value>', good.replace('t=0 0', 't 0 0')],
    ['not-sdp', 'an upper-case type letter', good.replace('t=0 0', 'T=0 0')],
    ['bad-origin', 'no o=', good.replace(/o=.*\r\n/, '')],
    ['bad-origin', 'an o= with five fields', good.replace('o=- 3812', 'o=3812')],
    ['bad-origin', 'no s=', good.replace(/s=.*\r\n/, '')],
    ['no-media', 'no m= line', good.slice(0, good.indexOf('m='))],
    ['bad-media', 'a port above 65535', good.replace('m=audio 2222', 'm=audio 70000')],
    ['bad-media', 'a port that is not a number', good.replace('m=audio 2222', 'm=audio 22x2')],
    ['bad-media', 'a negative port', good.replace('m=audio 2222', 'm=audio -2')],
    ['bad-media', 'no formats', good.replace('m=audio 2222 RTP/AVP 9 0 101', 'm=audio 2222 RTP/AVP')],
    ['bad-media', 'a port count of 0', good.replace('m=audio 2222', 'm=audio 2222/0')],
    ['bad-media', 'ports past 65535 with a count', good.replace('m=audio 2222', 'm=audio 65534/2')],
    [
      'bad-connection',
      'c= with a host name',
      good.replace('c=IN IP4 192.168.1.20', 'c=IN IP4 pbx.example.com'),
    ],
    ['bad-connection', 'c= IP6 with an IPv4 address', good.replace('c=IN IP4', 'c=IN IP6')],
    ['bad-connection', 'c= with a bad IPv4', good.replace('192.168.1.20\r\nb', '192.168.1.256\r\nb')],
    ['bad-connection', 'c= of another network type', good.replace('c=IN IP4', 'c=ATM NSAP')],
    ['no-connection', 'a stream with a port and no c= at all', good.replace(/c=.*\r\n/, '')],
    ['bad-rtcp', 'a=rtcp without a port', good.replace('a=content:main', 'a=rtcp:')],
    ['bad-rtcp', 'a=rtcp port 70000', good.replace('a=content:main', 'a=rtcp:70000')],
    ['bad-rtcp', 'a=rtcp with half an address', good.replace('a=content:main', 'a=rtcp:5000 IN IP4')],
    ['not-sdp', 'a NUL byte', Buffer.from(good.replace('s=', 's=\0'), 'latin1')],
    [
      'not-sdp',
      'binary junk',
      Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]),
    ],
  ])('%s: %s', (reason, _what, body) => {
    expect(reasonOf(body)).toBe(reason);
  });

  it('too-large: a body over the limit is refused before it is read', () => {
    expect(reasonOf(good, 100)).toBe('too-large');
    expect(reasonOf(good + 'a=x\r\n'.repeat(20_000))).toBe('too-large');
    expect(reasonOf(good, good.length)).toBe('ok');
  });

  it('truncated anywhere, the body parses or gives an error value; cut inside the m= line, an error', () => {
    for (let cut = 0; cut < good.length; cut++) {
      const result = parseSdp(good.slice(0, cut));
      if (!result.ok) expect(result.error.detail.length).toBeGreaterThan(0);
    }
    expect(reasonOf(good.slice(0, good.indexOf('m=audio') + 5))).toBe('bad-media');
    expect(reasonOf(good.slice(0, good.indexOf('m=audio') + 12))).toBe('bad-media');
    expect(reasonOf(good.slice(0, good.indexOf('c=IN IP4 192.168') + 15))).toBe('no-media');
    const twoHosts = read('session-media-connection.sdp').toString('latin1');
    expect(reasonOf(twoHosts.slice(0, twoHosts.indexOf('c=IN IP4 192.168.1.25') + 17))).toBe(
      'bad-connection',
    );
  });

  it('names the 1-based line of a bad line', () => {
    const result = parseSdp(good.replace('m=audio 2222', 'm=audio 99999'));
    expect(result.ok ? undefined : result.error.line).toBe(8);
  });

  it('accepts every fixture, with LF or CRLF line ends and trailing blanks', () => {
    for (const name of Object.keys(CASES)) expect(reasonOf(read(`${name}.sdp`)), name).toBe('ok');
    expect(reasonOf(good.replace(/\r\n/g, '\n'))).toBe('ok');
    expect(reasonOf(`${good}\r\n\r\n`)).toBe('ok');
  });
});

describe('parseSdp and rewriteSdp never throw (fast-check)', () => {
  const good = read('linphone-ice-offer.sdp').toString('latin1');
  const lines = good.trimEnd().split('\r\n');
  const plan = (sdp: ParsedSdp): RewritePlan => ({
    address: OUTSIDE,
    streams: sdp.media.map((m, i) => (m.port === 0 ? PORT_ZERO : anchor(OUTSIDE, 30000 + 2 * i))),
  });
  let accepted = 0;
  const edited = (l: string): boolean => /^(o|c|m)=|^a=rtcp:/.test(l);
  const check = (body: Buffer | string): void => {
    const result = parseSdp(body);
    if (!result.ok) {
      expect(typeof result.error.reason).toBe('string');
      return;
    }
    accepted++;
    describeStreams(result.value);
    const out = rewriteSdp(result.value, plan(result.value));
    expect(out.ok).toBe(true);
    // What the rewrite produced is itself an SDP that parses, with the same number of streams.
    const again = parseSdp(out.ok ? out.value : '');
    expect(again.ok && again.value.media.length).toBe(result.value.media.length);
    // Every line the rewrite does not edit is there, in order.
    expect(again.ok && again.value.lines.filter((l) => !edited(l))).toEqual(
      result.value.lines.filter((l) => !edited(l)),
    );
  };

  it('on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => check(Buffer.from(bytes))),
      {
        numRuns: 500,
      },
    );
  });

  it('on arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 1024, unit: 'binary' }), check), { numRuns: 500 });
  });

  it('on SDP-shaped lines (type letters, fields, ports, addresses)', () => {
    const address = fc.oneof(
      {
        arbitrary: fc.constantFrom('IP4 10.0.0.1', 'IP4 0.0.0.0', 'IP6 ::1', 'IP6 ::', 'IP6 2001:db8::5'),
        weight: 8,
      },
      { arbitrary: fc.constantFrom('IP6 10.0.0.1', 'IP4 300.1.1.1', 'IP4 host.example', 'X ::1'), weight: 1 },
    );
    const connection = fc
      .tuple(address, fc.constantFrom('', '', '', '/127', '/2'))
      .map(([a, suffix]) => `c=IN ${a}${suffix}`);
    const port = fc.oneof(
      { arbitrary: fc.integer({ min: 0, max: 65_535 }), weight: 8 },
      { arbitrary: fc.integer({ min: -1, max: 100_000 }), weight: 1 },
    );
    const media = fc
      .tuple(
        fc.constantFrom('audio', 'video', 'application', 'audio', ''),
        port,
        fc.constantFrom('', '', '', '/2', '/0'),
        fc.constantFrom('RTP/AVP', 'UDP/TLS/RTP/SAVPF', 'RTP/AVP', ''),
        fc.constantFrom(' 0 8', ' 96', ' 0', ''),
      )
      .map(([m, p, count, proto, formats]) => `m=${m} ${p}${count} ${proto}${formats}`);
    const rtcp = fc
      .tuple(port, fc.option(address))
      .map(([p, a]) => `a=rtcp:${p}${a === null ? '' : ` IN ${a}`}`);
    const other = fc.oneof(
      fc.constantFrom(
        'a=sendonly',
        'a=inactive',
        'a=rtcp-mux',
        'a=rtcp-fb:* nack',
        'i=info',
        'b=AS:64',
        't=0 0',
      ),
      { arbitrary: fc.string({ maxLength: 30 }).map((v) => `a=${v}`), weight: 1 },
      { arbitrary: fc.string({ maxLength: 30 }), weight: 1 },
    );
    const line = fc.oneof(
      { arbitrary: connection, weight: 3 },
      { arbitrary: media, weight: 3 },
      { arbitrary: rtcp, weight: 2 },
      { arbitrary: other, weight: 2 },
    );
    const body = fc
      .tuple(fc.array(line, { maxLength: 12 }), fc.constantFrom('\r\n', '\n', '\r'))
      .map(([ls, eol]) => ['v=0', 'o=- 1 1 IN IP4 10.0.0.1', 's=-', ...ls].join(eol));
    accepted = 0;
    fc.assert(fc.property(body, check), { numRuns: 2000 });
    expect(accepted).toBeGreaterThan(30);
  });

  it('on a real offer with lines dropped, duplicated, swapped or cut', () => {
    const mutated = fc
      .array(fc.tuple(fc.nat(lines.length - 1), fc.nat(lines.length - 1), fc.nat(80), fc.nat(3)), {
        maxLength: 6,
      })
      .map((ops) => {
        const ls = [...lines];
        for (const [a, b, cut, op] of ops) {
          if (a >= ls.length || b >= ls.length) continue;
          if (op === 0) ls.splice(a, 1);
          else if (op === 1) ls.splice(b, 0, ls[a]!);
          else if (op === 2) [ls[a], ls[b]] = [ls[b]!, ls[a]!];
          else ls[a] = ls[a]!.slice(0, cut);
        }
        return ls.join('\r\n');
      });
    accepted = 0;
    fc.assert(fc.property(mutated, check), { numRuns: 1000 });
    expect(accepted).toBeGreaterThan(300);
  });
});
