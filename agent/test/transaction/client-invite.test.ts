import { describe, expect, it } from 'vitest';
import type { SipResponse } from '../../src/sip/message.js';
import { ClientInviteTransaction } from '../../src/transaction/client-invite.js';
import type { SyntheticCause } from '../../src/transaction/types.js';
import { TransportError } from '../../src/transport/transport-error.js';
import { ManualClock } from '../../src/util/clock.js';
import { context, flush, RecordingChannel } from './harness.js';
import { aRequest, aResponseTo } from './messages.js';

function setup(reliable = false) {
  const clock = new ManualClock();
  const channel = new RecordingChannel(clock, reliable);
  const seen: { status: number; synthetic: SyntheticCause | undefined }[] = [];
  const invite = aRequest({ method: 'INVITE' });
  const tx = new ClientInviteTransaction(invite, channel, context(clock, reliable), {
    onResponse: (r: SipResponse, synthetic?: SyntheticCause) => seen.push({ status: r.status, synthetic }),
  });
  tx.start();
  return { clock, channel, seen, invite, tx };
}

describe('INVITE client transaction (RFC 3261 §17.1.1)', () => {
  it('retransmits at T1, 2T1, 4T1… (Timer A) until Timer B (64·T1) reports a 408', () => {
    const { clock, channel, seen, tx } = setup();
    clock.advance(31_999);
    expect(channel.requests.map((s) => s.at)).toEqual([0, 500, 1500, 3500, 7500, 15_500, 31_500]);
    expect(seen).toEqual([]);
    clock.advance(1);
    expect(seen).toEqual([{ status: 408, synthetic: 'timeout' }]);
    expect(tx.state).toBe('terminated');
    expect(clock.pending).toBe(0);
  });

  it('does not retransmit over a reliable transport, but Timer B still fires', () => {
    const { clock, channel, seen } = setup(true);
    clock.advance(32_000);
    expect(channel.requests).toHaveLength(1);
    expect(seen).toEqual([{ status: 408, synthetic: 'timeout' }]);
  });

  it('stops Timer A on a provisional response and passes it up', () => {
    const { clock, channel, seen, invite, tx } = setup();
    clock.advance(600);
    tx.receiveResponse(aResponseTo(invite, 180));
    clock.advance(10_000);
    expect(channel.requests).toHaveLength(2);
    expect(seen).toEqual([{ status: 180, synthetic: undefined }]);
    expect(tx.state).toBe('proceeding');
  });

  it('ACKs a non-2xx final, re-ACKs its retransmissions without passing them up, ends after Timer D', () => {
    const { clock, channel, seen, invite, tx } = setup();
    const busy = aResponseTo(invite, 486);
    tx.receiveResponse(busy);
    tx.receiveResponse(busy);
    const acks = channel.requests.filter((s) => s.request.method === 'ACK');
    expect(acks).toHaveLength(2);
    const ack = acks[0]?.request;
    expect(ack?.cseq).toEqual({ seq: invite.cseq.seq, method: 'ACK' });
    expect(ack?.via).toEqual([invite.via[0]]);
    expect(ack?.to.tag).toBe('to-1');
    expect(seen).toEqual([{ status: 486, synthetic: undefined }]);
    expect(tx.state).toBe('completed');
    clock.advance(31_999);
    expect(tx.state).toBe('completed');
    clock.advance(1);
    expect(tx.state).toBe('terminated');
  });

  it('Timer D is zero on a reliable transport', () => {
    const { clock, invite, tx } = setup(true);
    tx.receiveResponse(aResponseTo(invite, 486));
    clock.advance(0);
    expect(tx.state).toBe('terminated');
  });

  it('passes every 2xx up in Accepted (RFC 6026) and terminates after Timer M', () => {
    const { clock, seen, invite, tx } = setup();
    tx.receiveResponse(aResponseTo(invite, 200));
    tx.receiveResponse(aResponseTo(invite, 200));
    expect(seen.map((s) => s.status)).toEqual([200, 200]);
    expect(tx.state).toBe('accepted');
    clock.advance(32_000);
    expect(tx.state).toBe('terminated');
  });

  it('reports a transport failure as a synthetic 503', async () => {
    const clock = new ManualClock();
    const channel = new RecordingChannel(clock);
    channel.failWith = new TransportError('send-failed', 'boom');
    const seen: (SyntheticCause | undefined)[] = [];
    const tx = new ClientInviteTransaction(aRequest(), channel, context(clock, false), {
      onResponse: (r, s) => seen.push(s === undefined ? undefined : (`${r.status}:${s}` as SyntheticCause)),
    });
    tx.start();
    await flush();
    expect(seen).toEqual(['503:transport-error']);
    expect(tx.state).toBe('terminated');
  });
});
