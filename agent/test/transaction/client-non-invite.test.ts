import { describe, expect, it } from 'vitest';
import { ClientNonInviteTransaction } from '../../src/transaction/client-non-invite.js';
import type { SyntheticCause } from '../../src/transaction/types.js';
import { ManualClock } from '../../src/util/clock.js';
import { context, RecordingChannel } from './harness.js';
import { aRequest, aResponseTo } from './messages.js';

function setup(reliable = false) {
  const clock = new ManualClock();
  const channel = new RecordingChannel(clock, reliable);
  const seen: { status: number; synthetic: SyntheticCause | undefined }[] = [];
  const request = aRequest({ method: 'OPTIONS' });
  const tx = new ClientNonInviteTransaction(request, channel, context(clock, reliable), {
    onResponse: (r, synthetic) => seen.push({ status: r.status, synthetic }),
  });
  tx.start();
  return { clock, channel, seen, request, tx };
}

describe('non-INVITE client transaction (RFC 3261 §17.1.2)', () => {
  it('retransmits on Timer E doubling up to T2, then Timer F reports a 408', () => {
    const { clock, channel, seen, tx } = setup();
    clock.advance(31_999);
    expect(channel.requests.map((s) => s.at)).toEqual([
      0, 500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500,
    ]);
    clock.advance(1);
    expect(seen).toEqual([{ status: 408, synthetic: 'timeout' }]);
    expect(tx.state).toBe('terminated');
    expect(clock.pending).toBe(0);
  });

  it('retransmits every T2 once a provisional arrived', () => {
    const { clock, channel, seen, request, tx } = setup();
    clock.advance(100);
    tx.receiveResponse(aResponseTo(request, 100));
    clock.advance(12_400); // to t = 12 500
    expect(channel.requests.map((s) => s.at)).toEqual([0, 500, 4500, 8500, 12_500]);
    expect(seen.map((s) => s.status)).toEqual([100]);
  });

  it('passes the final response up once, absorbs its retransmissions, ends after Timer K (T4)', () => {
    const { clock, channel, seen, request, tx } = setup();
    tx.receiveResponse(aResponseTo(request, 200));
    tx.receiveResponse(aResponseTo(request, 200));
    expect(seen.map((s) => s.status)).toEqual([200]);
    clock.advance(4999);
    expect(tx.state).toBe('completed');
    expect(channel.requests).toHaveLength(1);
    clock.advance(1);
    expect(tx.state).toBe('terminated');
  });

  it('never retransmits on a reliable transport; Timer K is zero', () => {
    const { clock, channel, request, tx } = setup(true);
    clock.advance(20_000);
    expect(channel.requests).toHaveLength(1);
    tx.receiveResponse(aResponseTo(request, 404));
    clock.advance(0);
    expect(tx.state).toBe('terminated');
  });
});
