import { describe, expect, it } from 'vitest';
import {
  hasOptionTag,
  onRequest,
  onResponse,
  parseMinSe,
  parseSessionExpires,
  type SessionTimerPolicy,
  type SessionTimerRequestInfo,
} from '../../src/proxy/session-timer.js';
import {
  MAX_TIMER_MS,
  SessionTimerTable,
  sessionTimerKey,
  sessionTimerKeyOf,
} from '../../src/proxy/session-timer-table.js';
import {
  editHeaders,
  getHeader,
  getHeaders,
  parseMessage,
  serializeMessage,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from '../../src/sip/index.js';
import { ManualClock, type Clock } from '../../src/util/clock.js';

const POLICY: SessionTimerPolicy = { enabled: true, minSe: 90, defaultSessionExpires: 1800 };
const STRICT: SessionTimerPolicy = { enabled: true, minSe: 300, defaultSessionExpires: 1800 };

function parse(text: string): SipMessage {
  const r = parseMessage(Buffer.from(text, 'latin1'));
  if (!r.ok) throw new Error(`fixture did not parse: ${r.error.code}`);
  return r.value;
}

/** An INVITE/UPDATE/… as it arrives at the proxy, with `extra` header lines. */
function request(method: string, extra: string[], opts: { toTag?: string } = {}): SipRequest {
  const m = parse(
    [
      `${method} sip:bob@example.test SIP/2.0`,
      'Via: SIP/2.0/UDP 192.168.77.20:5060;branch=z9hG4bK-st-1;rport',
      'Max-Forwards: 70',
      'From: "Alice" <sip:alice@example.test>;tag=a1',
      `To: <sip:bob@example.test>${opts.toTag === undefined ? '' : `;tag=${opts.toTag}`}`,
      'Call-ID: st-call-1@192.168.77.20',
      `CSeq: ${method === 'INVITE' ? 1 : 2} ${method}`,
      'Contact: <sip:alice@192.168.77.20:5060>',
      ...extra,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
  if (m.kind !== 'request') throw new Error('not a request');
  return m;
}

/** A response as the UAS sends it, with `extra` header lines. */
function response(status: number, method: string, extra: string[]): SipResponse {
  const m = parse(
    [
      `SIP/2.0 ${status} Whatever`,
      'Via: SIP/2.0/UDP 192.168.77.20:5060;branch=z9hG4bK-st-1;rport=5060;received=192.168.77.20',
      'From: "Alice" <sip:alice@example.test>;tag=a1',
      'To: <sip:bob@example.test>;tag=b1',
      'Call-ID: st-call-1@192.168.77.20',
      `CSeq: ${method === 'INVITE' ? 1 : 2} ${method}`,
      'Contact: <sip:bob@198.51.100.7:5060>',
      ...extra,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
  if (m.kind !== 'response') throw new Error('not a response');
  return m;
}

/** Applies `edits` like the proxy does and reads the result back from its wire bytes. */
function applied<M extends SipMessage>(msg: M, edits: Parameters<typeof editHeaders>[1]['set']): SipMessage {
  return parse(serializeMessage(editHeaders(msg, { set: edits ?? [] })).toString('latin1'));
}

describe('parseSessionExpires (RFC 4028 §4)', () => {
  it('reads delta-seconds and the refresher parameter', () => {
    const r = parseSessionExpires(request('INVITE', ['Session-Expires: 1800;refresher=uac']));
    expect(r).toEqual({
      ok: true,
      value: { deltaSeconds: 1800, refresher: 'uac', params: [{ name: 'refresher', value: 'uac' }] },
    });
  });

  it('accepts the compact form x, LWS around the semicolon and any case of uas/uac', () => {
    const r = parseSessionExpires(request('INVITE', ['x: 4000 ; Refresher=UAS;foo']));
    expect(r.ok && r.value?.deltaSeconds).toBe(4000);
    expect(r.ok && r.value?.refresher).toBe('uas');
    expect(r.ok && r.value?.params.map((p) => p.name)).toEqual(['Refresher', 'foo']);
  });

  it('gives undefined when absent and no refresher when the parameter is absent', () => {
    expect(parseSessionExpires(request('INVITE', []))).toEqual({ ok: true, value: undefined });
    const r = parseSessionExpires(request('INVITE', ['Session-Expires: 90']));
    expect(r.ok && r.value).toEqual({ deltaSeconds: 90, refresher: undefined, params: [] });
  });

  it.each([
    ['soon'],
    ['-5'],
    ['1800s'],
    ['18 00'],
    ['4294967296'],
    ['1800;refresher=both'],
    ['1800;refresher'],
    ['1800;;refresher=uac'],
    ['1800;'],
  ])('treats %j as malformed', (value) => {
    const r = parseSessionExpires(request('INVITE', [`Session-Expires: ${value}`]));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.header).toBe('Session-Expires');
  });

  it('treats a second field (long or compact) as malformed', () => {
    const r = parseSessionExpires(request('INVITE', ['Session-Expires: 1800', 'x: 900']));
    expect(r).toEqual({
      ok: false,
      error: { header: 'Session-Expires', reason: 'Session-Expires appears more than once' },
    });
  });
});

describe('parseMinSe (RFC 4028 §5)', () => {
  it('reads delta-seconds with generic params; absent is undefined', () => {
    const r = parseMinSe(request('INVITE', ['Min-SE: 120;x=1']));
    expect(r).toEqual({ ok: true, value: { deltaSeconds: 120, params: [{ name: 'x', value: '1' }] } });
    expect(parseMinSe(request('INVITE', []))).toEqual({ ok: true, value: undefined });
  });

  it.each([['ninety'], ['90 90'], [''], ['90;']])('treats %j as malformed', (value) => {
    expect(parseMinSe(request('INVITE', [`Min-SE: ${value}`])).ok).toBe(false);
  });
});

describe('hasOptionTag', () => {
  it('finds timer in Supported (compact k, any case, any field) and Require', () => {
    expect(hasOptionTag(request('INVITE', ['k: 100rel, TIMER']), 'supported', 'timer')).toBe(true);
    expect(
      hasOptionTag(request('INVITE', ['Supported: replaces', 'Supported: timer']), 'supported', 'timer'),
    ).toBe(true);
    expect(hasOptionTag(request('INVITE', ['Require: timer']), 'require', 'timer')).toBe(true);
  });

  it('does not match absent headers or other tags', () => {
    expect(hasOptionTag(request('INVITE', []), 'supported', 'timer')).toBe(false);
    expect(hasOptionTag(request('INVITE', ['Supported: timers, 100rel']), 'supported', 'timer')).toBe(false);
    expect(hasOptionTag(request('INVITE', ['Require: timer']), 'supported', 'timer')).toBe(false);
  });
});

describe('onRequest (RFC 4028 §8.1)', () => {
  it('leaves methods other than INVITE and UPDATE alone', () => {
    for (const method of ['BYE', 'OPTIONS', 'ACK', 'INFO']) {
      const req = request(method, ['Session-Expires: 10', 'Supported: timer']);
      expect(onRequest(req, STRICT)).toEqual({ kind: 'forward', edits: [], info: undefined });
    }
  });

  it('is fully transparent when disabled: no 422, no 400, no edits, nothing to track', () => {
    const off = { ...STRICT, enabled: false };
    for (const extra of [['Session-Expires: 10', 'Supported: timer'], ['Session-Expires: junk'], []]) {
      expect(onRequest(request('INVITE', extra), off)).toEqual({
        kind: 'forward',
        edits: [],
        info: undefined,
      });
    }
  });

  it('rejects with 422 and our Min-SE when Session-Expires is below it and the UAC supports timer', () => {
    const req = request('INVITE', ['Session-Expires: 120;refresher=uac', 'Supported: timer, 100rel']);
    expect(onRequest(req, STRICT)).toEqual({
      kind: 'reject',
      status: 422,
      reason: 'Session Interval Too Small',
      headers: [['Min-SE', '300']],
    });
  });

  it('rejects an UPDATE refresh (in-dialog) the same way', () => {
    const req = request('UPDATE', ['x: 100', 'k: timer'], { toTag: 'b1' });
    const d = onRequest(req, STRICT);
    expect(d.kind === 'reject' && d.status).toBe(422);
    expect(d.kind === 'reject' && d.headers).toEqual([['Min-SE', '300']]);
  });

  it('rejects a Session-Expires below 90 even when our Min-SE is the RFC floor', () => {
    const d = onRequest(request('INVITE', ['Session-Expires: 60', 'Supported: timer']), POLICY);
    expect(d).toMatchObject({ kind: 'reject', status: 422, headers: [['Min-SE', '90']] });
  });

  it('raises Min-SE and Session-Expires instead of rejecting when the UAC does not support timer', () => {
    // An upstream proxy inserted Session-Expires; the UAC would not understand a 422.
    const req = request('INVITE', ['Session-Expires: 120;refresher=uac', 'Min-SE: 100']);
    const d = onRequest(req, STRICT);
    expect(d).toEqual({
      kind: 'forward',
      edits: [
        { name: 'Min-SE', values: ['300'] },
        { name: 'Session-Expires', values: ['300;refresher=uac'] },
      ],
      info: { sessionExpires: 300, uacSupportsTimer: false },
    });
    const out = applied(req, d.kind === 'forward' ? d.edits : []);
    expect(getHeader(out, 'Session-Expires')).toBe('300;refresher=uac');
    expect(getHeader(out, 'Min-SE')).toBe('300');
  });

  it('raises a Session-Expires below the request’s own Min-SE to it, leaving that Min-SE alone', () => {
    const req = request('INVITE', ['Session-Expires: 400', 'Min-SE: 600']);
    expect(onRequest(req, STRICT)).toEqual({
      kind: 'forward',
      edits: [{ name: 'Session-Expires', values: ['600'] }],
      info: { sessionExpires: 600, uacSupportsTimer: false },
    });
  });

  it('inserts the default Session-Expires without a refresher, and our Min-SE, when absent', () => {
    const req = request('INVITE', ['Supported: timer']);
    const d = onRequest(req, STRICT);
    expect(d).toEqual({
      kind: 'forward',
      edits: [
        { name: 'Min-SE', values: ['300'] },
        { name: 'Session-Expires', values: ['1800'] },
      ],
      info: { sessionExpires: 1800, uacSupportsTimer: true },
    });
    const out = applied(req, d.kind === 'forward' ? d.edits : []);
    const se = parseSessionExpires(out);
    expect(se.ok && se.value).toEqual({ deltaSeconds: 1800, refresher: undefined, params: [] });
  });

  it('inserts no Min-SE when ours is the RFC default and the request has none', () => {
    const d = onRequest(request('INVITE', []), POLICY);
    expect(d).toEqual({
      kind: 'forward',
      edits: [{ name: 'Session-Expires', values: ['1800'] }],
      info: { sessionExpires: 1800, uacSupportsTimer: false },
    });
  });

  it('inserts at least the Min-SE floor when the default is below it', () => {
    const d = onRequest(request('INVITE', ['Min-SE: 3600']), STRICT);
    expect(d).toEqual({
      kind: 'forward',
      edits: [{ name: 'Session-Expires', values: ['3600'] }],
      info: { sessionExpires: 3600, uacSupportsTimer: false },
    });
  });

  it('never increases or reduces an acceptable Session-Expires, but raises a lower Min-SE', () => {
    const req = request('INVITE', ['Session-Expires: 7200;refresher=uas', 'Min-SE: 120;p=1', 'k: timer']);
    const d = onRequest(req, STRICT);
    expect(d).toEqual({
      kind: 'forward',
      edits: [{ name: 'Min-SE', values: ['300;p=1'] }],
      info: { sessionExpires: 7200, uacSupportsTimer: true },
    });
  });

  it('forwards untouched when Session-Expires and Min-SE already satisfy us (Min-SE never lowered)', () => {
    const req = request('INVITE', ['Session-Expires: 900', 'Min-SE: 600', 'Supported: timer'], {
      toTag: 'b1',
    });
    expect(onRequest(req, STRICT)).toEqual({
      kind: 'forward',
      edits: [],
      info: { sessionExpires: 900, uacSupportsTimer: true },
    });
  });

  it('accepts a Session-Expires exactly at our Min-SE', () => {
    const d = onRequest(
      request('INVITE', ['Session-Expires: 300', 'Min-SE: 300', 'Supported: timer']),
      STRICT,
    );
    expect(d.kind === 'forward' && d.edits).toEqual([]);
  });

  it('replaces a compact-form Session-Expires with the long form on a raise', () => {
    const req = request('INVITE', ['x: 100;refresher=uac']);
    const d = onRequest(req, STRICT);
    const out = applied(req, d.kind === 'forward' ? d.edits : []);
    expect(out.headers.filter((h) => h.key === 'session-expires').map((h) => h.name)).toEqual([
      'Session-Expires',
    ]);
    expect(getHeaders(out, 'x')).toEqual(['300;refresher=uac']);
  });

  it.each([
    [['Session-Expires: half-an-hour'], 'Malformed Session-Expires'],
    [['Session-Expires: 1800;refresher=me'], 'Malformed Session-Expires refresher'],
    [['Session-Expires: 1800', 'x: 1800'], 'Session-Expires appears more than once'],
    [['Session-Expires: 1800', 'Min-SE: lots'], 'Malformed Min-SE'],
    [['Min-SE: 90', 'Min-SE: 120'], 'Min-SE appears more than once'],
  ])('answers 400 for %j', (extra, reason) => {
    expect(onRequest(request('INVITE', [...extra, 'Supported: timer']), POLICY)).toEqual({
      kind: 'reject',
      status: 400,
      reason,
      headers: [],
    });
  });

  it('throws on a policy below the RFC floor (a configuration bug)', () => {
    expect(() => onRequest(request('INVITE', []), { ...POLICY, minSe: 60 })).toThrow(/minSe/);
    expect(() => onRequest(request('INVITE', []), { ...POLICY, defaultSessionExpires: 0 })).toThrow();
  });
});

describe('onResponse (RFC 4028 §8.2)', () => {
  const withTimer: SessionTimerRequestInfo = { sessionExpires: 1800, uacSupportsTimer: true };
  const noUacTimer: SessionTimerRequestInfo = { sessionExpires: 1800, uacSupportsTimer: false };

  it('ignores everything when nothing was tracked for the request', () => {
    expect(onResponse(response(200, 'INVITE', ['Session-Expires: 1800;refresher=uac']), undefined)).toEqual({
      kind: 'ignore',
    });
  });

  it('ignores provisional and error responses (a failed refresh leaves the timer as it was)', () => {
    for (const status of [100, 180, 183, 422, 487, 491, 500])
      expect(onResponse(response(status, 'INVITE', []), withTimer)).toEqual({ kind: 'ignore' });
  });

  it('ignores 2xx to methods other than INVITE and UPDATE', () => {
    for (const method of ['BYE', 'OPTIONS', 'INFO'])
      expect(onResponse(response(200, method, ['Session-Expires: 90;refresher=uac']), withTimer)).toEqual({
        kind: 'ignore',
      });
  });

  it('tracks the interval and refresher of a 2xx with Session-Expires, unchanged', () => {
    const d = onResponse(
      response(200, 'INVITE', ['Session-Expires: 1200;refresher=uas', 'Require: timer']),
      withTimer,
    );
    expect(d).toEqual({ kind: 'track', edits: [], intervalSec: 1200, refresher: 'uas' });
  });

  it('reads the compact form in a 2xx to UPDATE', () => {
    const d = onResponse(response(200, 'UPDATE', ['x: 600;refresher=uac']), noUacTimer);
    expect(d).toEqual({ kind: 'track', edits: [], intervalSec: 600, refresher: 'uac' });
  });

  it('tracks a 2xx whose Session-Expires names no refresher, refresher undefined', () => {
    const d = onResponse(response(200, 'INVITE', ['Session-Expires: 900']), withTimer);
    expect(d).toEqual({ kind: 'track', edits: [], intervalSec: 900, refresher: undefined });
  });

  it('makes the UAC the refresher when only the UAC supports timers', () => {
    const res = response(200, 'INVITE', ['Require: 100rel']);
    const d = onResponse(res, withTimer);
    expect(d).toEqual({
      kind: 'track',
      edits: [
        { name: 'Session-Expires', values: ['1800;refresher=uac'] },
        { name: 'Require', values: ['100rel, timer'] },
      ],
      intervalSec: 1800,
      refresher: 'uac',
    });
    const out = applied(res, d.kind === 'track' ? d.edits : []);
    const se = parseSessionExpires(out);
    expect(se.ok && se.value?.refresher).toBe('uac');
    expect(se.ok && se.value?.deltaSeconds).toBe(1800);
    expect(hasOptionTag(out, 'require', 'timer')).toBe(true);
    expect(hasOptionTag(out, 'require', '100rel')).toBe(true);
  });

  it('adds Require: timer when the 2xx has no Require, and not twice when it has one', () => {
    const bare = onResponse(response(200, 'INVITE', []), withTimer);
    expect(bare.kind === 'track' && bare.edits[1]).toEqual({ name: 'Require', values: ['timer'] });
    const already = onResponse(response(200, 'INVITE', ['Require: timer']), withTimer);
    expect(already.kind === 'track' && already.edits).toEqual([
      { name: 'Session-Expires', values: ['1800;refresher=uac'] },
    ]);
  });

  it('has no timer when neither the 2xx nor the UAC does timers', () => {
    expect(onResponse(response(200, 'INVITE', []), noUacTimer)).toEqual({ kind: 'none', reason: 'no-timer' });
  });

  it('has no timer when the request went without Session-Expires', () => {
    const info: SessionTimerRequestInfo = { sessionExpires: undefined, uacSupportsTimer: true };
    expect(onResponse(response(200, 'INVITE', []), info)).toEqual({ kind: 'none', reason: 'no-timer' });
  });

  it('cannot track a 2xx with a malformed Session-Expires', () => {
    expect(onResponse(response(200, 'INVITE', ['Session-Expires: never']), withTimer)).toEqual({
      kind: 'none',
      reason: 'malformed',
    });
  });

  it('carries the interval the proxy forwarded through a whole INVITE/2xx exchange', () => {
    const invite = request('INVITE', ['Supported: timer, replaces']);
    const d = onRequest(invite, STRICT);
    if (d.kind !== 'forward') throw new Error('expected forward');
    const forwarded = applied(invite, d.edits);
    expect(getHeader(forwarded, 'Session-Expires')).toBe('1800');
    // The UAS ignores the extension: its 2xx has no Session-Expires.
    const r = onResponse(response(200, 'INVITE', []), d.info);
    expect(r).toMatchObject({ kind: 'track', intervalSec: 1800, refresher: 'uac' });
  });
});

describe('sessionTimerKey', () => {
  it('is the same from either end of the dialog', () => {
    expect(sessionTimerKey('c1', 'a1', 'b1')).toBe(sessionTimerKey('c1', 'b1', 'a1'));
    expect(sessionTimerKey('c1', 'a1', 'b1')).not.toBe(sessionTimerKey('c1', 'a1', 'b2'));
    expect(sessionTimerKeyOf(response(200, 'INVITE', []))).toBe(
      sessionTimerKey('st-call-1@192.168.77.20', 'a1', 'b1'),
    );
  });

  it('needs both tags', () => {
    expect(sessionTimerKeyOf(request('INVITE', []))).toBeUndefined();
    expect(sessionTimerKeyOf(request('UPDATE', [], { toTag: 'b1' }))).toBeDefined();
  });
});

describe('SessionTimerTable (RFC 4028 §10, §8.3)', () => {
  const SEC = 1000;

  function table(clock: Clock = new ManualClock(1_000_000)) {
    const expired: Array<{ key: string; at: number }> = [];
    const t = new SessionTimerTable(clock, (key) => expired.push({ key, at: clock.now() }));
    return { t, expired, clock };
  }

  it('keeps a call refreshed every interval/2 alive for 30 simulated minutes', () => {
    const clock = new ManualClock(1_000_000);
    const { t, expired } = table(clock);
    const interval = 300;
    t.arm('d1', interval);
    for (let elapsed = 0; elapsed < 30 * 60; elapsed += interval / 2) {
      clock.advance((interval / 2) * SEC);
      t.arm('d1', interval); // the 2xx of each refresh
    }
    expect(expired).toEqual([]);
    expect(t.size).toBe(1);
    expect(clock.pending).toBe(1); // one clock timer per dialog, refresh after refresh
  });

  it('expires an unrefreshed call once, exactly interval seconds after its last 2xx', () => {
    const clock = new ManualClock(1_000_000);
    const { t, expired } = table(clock);
    t.arm('d1', 1800);
    clock.advance(1800 * SEC - 1);
    expect(expired).toEqual([]);
    clock.advance(1);
    expect(expired).toEqual([{ key: 'd1', at: 1_000_000 + 1800 * SEC }]);
    clock.advance(3600 * SEC);
    expect(expired).toHaveLength(1);
    expect(t.size).toBe(0);
    expect(t.deadline('d1')).toBeUndefined();
    expect(clock.pending).toBe(0);
  });

  it('expires at the last refresh plus the interval, not at the first deadline', () => {
    const clock = new ManualClock(0);
    const { t, expired } = table(clock);
    t.arm('d1', 90);
    clock.advance(60 * SEC);
    t.arm('d1', 90);
    clock.advance(89 * SEC); // past the first deadline (90 s)
    expect(expired).toEqual([]);
    clock.advance(1 * SEC);
    expect(expired).toEqual([{ key: 'd1', at: 150 * SEC }]);
  });

  it('does not expire a disarmed dialog', () => {
    const clock = new ManualClock(0);
    const { t, expired } = table(clock);
    t.arm('d1', 90);
    t.arm('d2', 90);
    clock.advance(45 * SEC);
    expect(t.disarm('d1')).toBe(true);
    expect(t.disarm('d1')).toBe(false);
    expect(t.disarm('never-armed')).toBe(false);
    clock.advance(3600 * SEC);
    expect(expired.map((e) => e.key)).toEqual(['d2']);
    expect(clock.pending).toBe(0);
  });

  it('moves the deadline when re-armed with a new interval, later or sooner', () => {
    const clock = new ManualClock(0);
    const { t, expired } = table(clock);
    t.arm('longer', 90);
    t.arm('shorter', 1800);
    clock.advance(30 * SEC);
    t.arm('longer', 600); // refresh negotiated a longer interval
    t.arm('shorter', 120); // and a shorter one
    expect(t.deadline('longer')).toBe(630 * SEC);
    expect(t.deadline('shorter')).toBe(150 * SEC);
    clock.advance(120 * SEC);
    expect(expired).toEqual([{ key: 'shorter', at: 150 * SEC }]);
    clock.advance(479 * SEC);
    expect(expired).toHaveLength(1);
    clock.advance(1 * SEC);
    expect(expired).toEqual([
      { key: 'shorter', at: 150 * SEC },
      { key: 'longer', at: 630 * SEC },
    ]);
  });

  it('reaches a deadline beyond Node’s longest timer in hops, never handing the clock more', () => {
    const inner = new ManualClock(0);
    const delays: number[] = [];
    const clock: Clock = {
      now: () => inner.now(),
      setTimeout: (fn, ms) => {
        delays.push(ms);
        return inner.setTimeout(fn, ms);
      },
      clearTimeout: (h) => inner.clearTimeout(h),
    };
    const { t, expired } = table(clock);
    const interval = 2 ** 32 - 1; // the largest Session-Expires (delta-seconds)
    t.arm('long', interval);
    inner.advance(interval * SEC - 1);
    expect(expired).toEqual([]);
    inner.advance(1);
    expect(expired).toEqual([{ key: 'long', at: interval * SEC }]);
    expect(Math.max(...delays)).toBeLessThanOrEqual(MAX_TIMER_MS);
    expect(delays.length).toBeGreaterThan(1);
  });

  it('lets the expiry callback arm the same dialog again', () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    const t: SessionTimerTable = new SessionTimerTable(clock, (key) => {
      fired.push(clock.now());
      if (fired.length === 1) t.arm(key, 90);
    });
    t.arm('d1', 90);
    clock.advance(400 * SEC);
    expect(fired).toEqual([90 * SEC, 180 * SEC]);
  });

  it('clear stops every timer without expiring any', () => {
    const clock = new ManualClock(0);
    const { t, expired } = table(clock);
    t.arm('d1', 90);
    t.arm('d2', 120);
    t.clear();
    clock.advance(3600 * SEC);
    expect(expired).toEqual([]);
    expect(t.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('throws on a negative or non-finite interval', () => {
    const { t } = table();
    expect(() => t.arm('d1', -1)).toThrow();
    expect(() => t.arm('d1', Number.NaN)).toThrow();
  });
});
