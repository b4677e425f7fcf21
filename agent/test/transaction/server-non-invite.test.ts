import { describe, expect, it } from 'vitest';
import { ServerNonInviteTransaction } from '../../src/transaction/server-non-invite.js';
import { TransportError } from '../../src/transport/transport-error.js';
import { ManualClock } from '../../src/util/clock.js';
import { context, flush, RecordingChannel } from './harness.js';
import { aRequest, aResponseTo } from './messages.js';

function setup(reliable = false) {
  const clock = new ManualClock();
  const channel = new RecordingChannel(clock, reliable);
  const failures: string[] = [];
  const request = aRequest({ method: 'OPTIONS' });
  const tx = new ServerNonInviteTransaction(request, channel, context(clock, reliable), {
    onFailure: (cause) => failures.push(cause),
  });
  return { clock, channel, request, tx, failures };
}

describe('non-INVITE server transaction (RFC 3261 §17.2.2)', () => {
  it('discards retransmissions in Trying', () => {
    const { channel, request, tx } = setup();
    tx.receiveRequest(request);
    tx.receiveRequest(request);
    expect(channel.responses).toEqual([]);
  });

  it('resends the provisional in Proceeding and the final in Completed, one per retransmission', () => {
    const { channel, request, tx } = setup();
    tx.respond(aResponseTo(request, 100));
    tx.receiveRequest(request);
    tx.respond(aResponseTo(request, 200));
    tx.receiveRequest(request);
    tx.receiveRequest(request);
    expect(channel.responses.map((s) => s.response.status)).toEqual([100, 100, 200, 200, 200]);
  });

  it('stays Completed for Timer J (64·T1) on UDP, never resends on its own', () => {
    const { clock, channel, request, tx } = setup();
    tx.respond(aResponseTo(request, 200));
    clock.advance(31_999);
    expect(tx.state).toBe('completed');
    expect(channel.responses).toHaveLength(1);
    clock.advance(1);
    expect(tx.state).toBe('terminated');
  });

  it('Timer J is zero on a reliable transport', () => {
    const { clock, request, tx } = setup(true);
    tx.respond(aResponseTo(request, 200));
    clock.advance(0);
    expect(tx.state).toBe('terminated');
  });

  it('ignores a second final response', () => {
    const { channel, request, tx } = setup();
    tx.respond(aResponseTo(request, 200));
    tx.respond(aResponseTo(request, 500));
    expect(channel.responses.map((s) => s.response.status)).toEqual([200]);
  });

  it('reports a transport failure and terminates (§17.2.4)', async () => {
    const { channel, request, tx, failures } = setup();
    channel.failWith = new TransportError('send-failed', 'boom');
    tx.respond(aResponseTo(request, 200));
    await flush();
    expect(failures).toEqual(['transport-error']);
    expect(tx.state).toBe('terminated');
  });
});
