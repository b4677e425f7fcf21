import { describe, expect, it } from 'vitest';
import { scanRequestHead } from '../../src/sip/head-scan.js';
import {
  AdmissionController,
  classify,
  DATAGRAMS_PER_TURN,
  DEFAULT_OVERLOAD_SETTINGS,
  eventLoopMeter,
  type InboundClass,
  OverloadGuard,
  type ServerTransactionIndex,
  shedDecision,
} from '../../src/transport/overload-guard.js';
import { requestBytes } from '../sip/builders.js';

/** Fixed values for these tests (the defaults are tuned by bench/overload). */
const S = {
  ...DEFAULT_OVERLOAD_SETTINGS,
  high: 0.95,
  low: 0.85,
  saturatedWindows: 2,
  decrease: 0.8,
  increase: 0.02,
};

function head(spec: Parameters<typeof requestBytes>[0]) {
  const h = scanRequestHead(requestBytes(spec));
  if (h === undefined) throw new Error('scan failed');
  return h;
}

/** An index holding exactly the given branches. */
const holding = (...branches: string[]): ServerTransactionIndex => ({
  hasServerTransaction: (via) => via.branch !== undefined && branches.includes(via.branch),
});

describe('classify: what may be shed', () => {
  it('keeps ACK, CANCEL, requests with a To tag and retransmissions of held transactions', () => {
    const index = holding('z9hG4bK-held');
    expect(classify(head({ method: 'ACK' }), index)).toBe('keep');
    expect(classify(head({ method: 'CANCEL' }), index)).toBe('keep');
    expect(classify(head({ method: 'BYE', to: '<sip:bob@example.com>;tag=b1' }), index)).toBe('keep');
    expect(
      classify(head({ method: 'REGISTER', via: ['SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-held'] }), index),
    ).toBe('keep');
  });

  it('new requests are fresh, or fresh-credentials with Authorization / Proxy-Authorization', () => {
    const index = holding('z9hG4bK-held');
    expect(classify(head({ method: 'REGISTER' }), index)).toBe('fresh');
    expect(classify(head({ method: 'INVITE' }), undefined)).toBe('fresh');
    expect(
      classify(head({ method: 'REGISTER', headers: [['Authorization', 'Digest username="a"']] }), index),
    ).toBe('fresh-credentials');
    expect(
      classify(head({ method: 'INVITE', headers: [['Proxy-Authorization', 'Digest username="a"']] }), index),
    ).toBe('fresh-credentials');
    // without the magic cookie a branch cannot be matched from the scan: it counts as new
    expect(
      classify(head({ method: 'REGISTER', via: ['SIP/2.0/UDP 192.0.2.1;branch=held'] }), holding('held')),
    ).toBe('fresh');
  });
});

describe('shedDecision (pure)', () => {
  const run = (cls: InboundClass, admission: { fresh: number; credentials: number }, n: number) => {
    let credit = 0;
    let shed = 0;
    for (let i = 0; i < n; i++) {
      const d = shedDecision(cls, admission, credit);
      credit = d.credit;
      if (d.shed) shed++;
    }
    return shed;
  };

  it('never sheds what is kept, nor anything at full admission', () => {
    expect(run('keep', { fresh: 0, credentials: 0 }, 100)).toBe(0);
    expect(run('fresh', { fresh: 1, credentials: 1 }, 100)).toBe(0);
  });

  it('sheds the refused share, spread evenly', () => {
    expect(run('fresh', { fresh: 0.25, credentials: 1 }, 100)).toBe(75);
    expect(run('fresh-credentials', { fresh: 0, credentials: 0.5 }, 100)).toBe(50);
    expect(run('fresh', { fresh: 0, credentials: 1 }, 100)).toBe(100);
    // evenly: at 0.5, never two sheds in a row
    let credit = 0;
    const seq: boolean[] = [];
    for (let i = 0; i < 8; i++) {
      const d = shedDecision('fresh', { fresh: 0.5, credentials: 1 }, credit);
      credit = d.credit;
      seq.push(d.shed);
    }
    expect(seq).toEqual([true, false, true, false, true, false, true, false]);
  });
});

describe('AdmissionController (AIMD on measured utilization)', () => {
  it('ignores one saturated window, cuts new requests from the second, credentials last', () => {
    const c = new AdmissionController(S);
    c.update(1);
    expect(c.shedding).toBe(false);
    c.update(1);
    expect(c.fresh).toBeCloseTo(S.decrease);
    expect(c.credentials).toBe(1);
    for (let i = 0; i < 40; i++) c.update(1);
    expect(c.fresh).toBe(0);
    expect(c.credentials).toBeLessThan(1);
  });

  it('holds between low and high, grows back below low (credentials first), one step per idle window', () => {
    const c = new AdmissionController(S);
    for (let i = 0; i < 60; i++) c.update(0.99);
    const before = { fresh: c.fresh, credentials: c.credentials };
    c.update(0.9);
    expect({ fresh: c.fresh, credentials: c.credentials }).toEqual(before);
    c.update(0.5);
    expect(c.credentials).toBeCloseTo(before.credentials + S.increase);
    c.update(0.1, 1000); // a long idle gap: fully back
    expect(c.shedding).toBe(false);
  });
});

describe('OverloadGuard: measures once per window, decides per request', () => {
  it('stays open under moderate load and sheds fresh requests only after sustained saturation', () => {
    let now = 0;
    let busy = 0.5;
    const guard = new OverloadGuard(S, { busySinceLastCall: () => busy }, () => now);
    const step = () => {
      now += S.windowMs;
      return guard.check();
    };
    expect(step()).toBe(false);
    busy = 1;
    expect(step()).toBe(false); // one saturated window
    expect(step()).toBe(true);
    // between windows the measure is not read again
    expect(guard.check()).toBe(true);
    let shed = 0;
    for (let i = 0; i < 100; i++) if (!guard.admit('fresh')) shed++;
    expect(shed).toBe(Math.round(100 * (1 - S.decrease)));
    expect(guard.admit('keep')).toBe(true);
    expect(guard.admit('fresh-credentials')).toBe(true);
    expect(guard.counters).toEqual({ shedFresh: shed, shedCredentials: 0 });
    busy = 0.2;
    now += 60 * S.windowMs;
    expect(guard.check()).toBe(false);
  });
});

describe('OverloadGuard: a busy loop without a backlog is not overload', () => {
  it('does not shed while no source had a backlog (a shared CPU), and does once one has', () => {
    let now = 0;
    let backlog = false;
    const guard = new OverloadGuard(
      S,
      { busySinceLastCall: () => 1, backlogSinceLastCall: () => backlog },
      () => now,
    );
    const step = () => {
      now += S.windowMs;
      return guard.check();
    };
    for (let i = 0; i < 10; i++) expect(step()).toBe(false);
    backlog = true;
    expect([step(), step(), step(), step()]).toContain(true);
  });

  it('the event-loop meter sees a backlog when one turn delivers a full libuv batch from one socket', async () => {
    const meter = eventLoopMeter();
    const socketA = {};
    const socketB = {};
    // Two sockets, 31 messages each in one turn: no socket had more waiting.
    for (let i = 0; i < DATAGRAMS_PER_TURN - 1; i++) {
      meter.arrived?.(socketA);
      meter.arrived?.(socketB);
    }
    expect(meter.backlogSinceLastCall?.()).toBe(false);
    await new Promise((r) => setImmediate(r));
    for (let i = 0; i < DATAGRAMS_PER_TURN; i++) meter.arrived?.(socketA);
    expect(meter.backlogSinceLastCall?.()).toBe(true);
    expect(meter.backlogSinceLastCall?.()).toBe(false);
  });
});

describe('eventLoopMeter: a backlog must persist', () => {
  it('one full batch among light turns (a GC pause drained at once) is not a backlog; mostly full turns are', async () => {
    const meter = eventLoopMeter();
    const socket = {};
    const turn = async (messages: number) => {
      for (let i = 0; i < messages; i++) meter.arrived?.(socket);
      await new Promise((r) => setImmediate(r));
    };
    await turn(DATAGRAMS_PER_TURN);
    for (let i = 0; i < 5; i++) await turn(3);
    expect(meter.backlogSinceLastCall?.()).toBe(false);
    for (let i = 0; i < 5; i++) await turn(DATAGRAMS_PER_TURN);
    await turn(3);
    expect(meter.backlogSinceLastCall?.()).toBe(true);
  });
});
