import { describe, expect, it } from 'vitest';
import { ServerInviteTransaction } from '../../src/transaction/server-invite.js';
import { ManualClock } from '../../src/util/clock.js';
import { context, RecordingChannel } from './harness.js';
import { aRequest, aResponseTo } from './messages.js';

function setup(reliable = false) {
  const clock = new ManualClock();
  const channel = new RecordingChannel(clock, reliable);
  const failures: string[] = [];
  let terminated = 0;
  const invite = aRequest({ method: 'INVITE' });
  const tx = new ServerInviteTransaction(invite, channel, context(clock, reliable), {
    onFailure: (cause) => failures.push(cause),
    onTerminated: () => terminated++,
  });
  return { clock, channel, failures, invite, tx, terminated: () => terminated };
}

const statuses = (c: RecordingChannel) => c.responses.map((s) => s.response.status);

describe('INVITE server transaction (RFC 3261 §17.2.1 + RFC 6026)', () => {
  it('resends the last provisional for a retransmitted INVITE in Proceeding', () => {
    const { channel, invite, tx } = setup();
    tx.respond(aResponseTo(invite, 100));
    tx.receiveRequest(invite);
    tx.respond(aResponseTo(invite, 180));
    tx.receiveRequest(invite);
    expect(statuses(channel)).toEqual([100, 100, 180, 180]);
  });

  it('retransmits a non-2xx final on Timer G (T1 doubling, capped at T2) until Timer H', () => {
    const { clock, channel, failures, invite, tx } = setup();
    tx.respond(aResponseTo(invite, 486));
    clock.advance(31_999);
    expect(channel.responses.map((s) => s.at)).toEqual([
      0, 500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500,
    ]);
    expect(failures).toEqual([]);
    clock.advance(1);
    expect(failures).toEqual(['timeout']);
    expect(tx.state).toBe('terminated');
    expect(clock.pending).toBe(0);
  });

  it('resends the final for a retransmitted INVITE in Completed', () => {
    const { channel, invite, tx } = setup();
    tx.respond(aResponseTo(invite, 486));
    tx.receiveRequest(invite);
    expect(statuses(channel)).toEqual([486, 486]);
  });

  it('ACK stops G and H (Confirmed), further ACKs absorbed, Timer I (T4) terminates', () => {
    const { clock, channel, failures, invite, tx, terminated } = setup();
    tx.respond(aResponseTo(invite, 486));
    clock.advance(600);
    const ack = aRequest({ method: 'ACK', cseqMethod: 'ACK', toTag: 'to-1' });
    tx.receiveAck(ack);
    expect(tx.state).toBe('confirmed');
    tx.receiveAck(ack);
    tx.receiveRequest(invite);
    clock.advance(4999);
    expect(tx.state).toBe('confirmed');
    expect(channel.responses).toHaveLength(2); // initial + Timer G at 500, nothing after the ACK
    clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(terminated()).toBe(1);
    expect(failures).toEqual([]);
  });

  it('does not run Timer G on a reliable transport; Timer I is zero', () => {
    const { clock, channel, invite, tx } = setup(true);
    tx.respond(aResponseTo(invite, 486));
    clock.advance(10_000);
    expect(channel.responses).toHaveLength(1);
    tx.receiveAck(aRequest({ method: 'ACK', cseqMethod: 'ACK', toTag: 'to-1' }));
    clock.advance(0);
    expect(tx.state).toBe('terminated');
  });

  it('2xx moves to Accepted: INVITE retransmits absorbed, TU 2xx retransmits pass, Timer L ends it', () => {
    const { clock, channel, invite, tx } = setup();
    tx.respond(aResponseTo(invite, 200));
    expect(tx.state).toBe('accepted');
    tx.receiveRequest(invite);
    tx.respond(aResponseTo(invite, 200));
    expect(statuses(channel)).toEqual([200, 200]);
    clock.advance(31_999);
    expect(tx.state).toBe('accepted');
    clock.advance(1);
    expect(tx.state).toBe('terminated');
  });
});
