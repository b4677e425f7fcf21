import { describe, expect, it } from 'vitest';
import type { SipRequest } from '../../src/sip/message.js';
import { TransactionLayer } from '../../src/transaction/transaction-layer.js';
import type { TransactionUser } from '../../src/transaction/transaction-user.js';
import type { ServerTransaction } from '../../src/transaction/types.js';
import type { Transport } from '../../src/transport/types.js';
import { ManualClock } from '../../src/util/clock.js';
import type { SipResponse } from '../../src/sip/message.js';
import type { Resender, SendFailureSink } from '../../src/transport/channels.js';
import { RecordingChannel, silent, T } from './harness.js';
import { aRequest, aResponseTo } from './messages.js';

const transport = { protocol: 'udp' } as Transport;
const context = { source: { address: '10.0.0.1', port: 5060 }, transport };

interface Seen {
  method: string;
  tx: ServerTransaction;
  cancels: ServerTransaction | undefined;
}

function setup(
  answer: (req: SipRequest, tx: ServerTransaction) => void = () => {},
  maxPending = 100,
  ids?: { tag(): string },
) {
  const clock = new ManualClock();
  const seen: Seen[] = [];
  const strayAcks: SipRequest[] = [];
  const user: TransactionUser = {
    onRequest: (req, tx, _ctx, related) => {
      seen.push({ method: req.method, tx, cancels: related.cancels });
      answer(req, tx);
    },
    onStrayAck: (ack) => strayAcks.push(ack),
  };
  const layer = new TransactionLayer(
    { timers: T, maxPendingTransactions: maxPending, retryAfterSec: 7 },
    { clock, logger: silent, user, ...(ids === undefined ? {} : { ids }) },
  );
  const channel = new RecordingChannel(clock);
  const deliver = (request: SipRequest, ch = channel) =>
    layer.receiveRequest({ request, channel: ch, context });
  return { clock, layer, seen, strayAcks, channel, deliver };
}

const statuses = (c: RecordingChannel) => c.responses.map((s) => s.response.status);

/** A datagram-like channel that also prepares resenders, recording what each one resends. */
class ResendingChannel extends RecordingChannel {
  readonly resent: SipResponse[] = [];
  failResends = false;
  resender(response: SipResponse): Resender {
    return {
      resend: (failed: SendFailureSink) => {
        this.resent.push(response);
        if (this.failResends) failed.sendFailed(new Error('unreachable'));
      },
    };
  }
}

describe('transaction layer', () => {
  it('hands a request to the TU once and absorbs its retransmissions', () => {
    const { seen, deliver, layer, channel } = setup((req, tx) => tx.respond(aResponseTo(req, 200)));
    const req = aRequest({ method: 'OPTIONS' });
    deliver(req);
    deliver(req);
    deliver(req);
    expect(seen).toHaveLength(1);
    expect(statuses(channel)).toEqual([200, 200, 200]);
    expect(layer.counters.requestRetransmissionsAbsorbed).toBe(2);
  });

  it('sends 100 Trying for an INVITE the TU did not answer synchronously, and only then', () => {
    const slow = setup();
    slow.deliver(aRequest());
    expect(statuses(slow.channel)).toEqual([100]);
    const quick = setup((req, tx) => tx.respond(aResponseTo(req, 486)));
    quick.deliver(aRequest());
    expect(statuses(quick.channel)).toEqual([486]);
  });

  it('consumes the ACK for a non-2xx inside the transaction (Timer G stops, TU never sees it)', () => {
    const { seen, deliver, channel, clock, layer, strayAcks } = setup((req, tx) =>
      tx.respond(aResponseTo(req, 486)),
    );
    deliver(aRequest());
    deliver(aRequest({ method: 'ACK', cseqMethod: 'ACK', toTag: 'to-1' }));
    clock.advance(10_000);
    expect(statuses(channel)).toEqual([486]);
    expect(seen.map((s) => s.method)).toEqual(['INVITE']);
    expect(strayAcks).toEqual([]);
    clock.advance(5000); // Timer I
    expect(layer.serverTransactionCount).toBe(0);
  });

  it('passes an ACK matching no transaction (ACK for 2xx) to the TU as stray', () => {
    const { deliver, strayAcks } = setup();
    deliver(aRequest({ method: 'ACK', cseqMethod: 'ACK', branch: 'z9hG4bK-new', toTag: 'x' }));
    expect(strayAcks).toHaveLength(1);
  });

  it('matches a CANCEL to its INVITE server transaction (§9.2) and hands both to the TU', () => {
    const { seen, deliver } = setup((req, tx) => {
      if (req.method === 'CANCEL') tx.respond(aResponseTo(req, 200));
    });
    deliver(aRequest());
    deliver(aRequest({ method: 'CANCEL', cseqMethod: 'CANCEL' }));
    deliver(aRequest({ method: 'CANCEL', cseqMethod: 'CANCEL', branch: 'z9hG4bK-other', callId: 'other' }));
    expect(seen.map((s) => s.method)).toEqual(['INVITE', 'CANCEL', 'CANCEL']);
    expect(seen[1]?.cancels).toBe(seen[0]?.tx);
    expect(seen[2]?.cancels).toBeUndefined();
  });

  it('matches RFC 2543 requests (no magic cookie) by Request-URI, tags, Call-ID, CSeq and top Via', () => {
    const { seen, deliver, channel } = setup((req, tx) => tx.respond(aResponseTo(req, 486)));
    const invite = aRequest({ branch: 'old-style-1' });
    deliver(invite);
    deliver(aRequest({ branch: 'old-style-1' })); // retransmission: same fields
    expect(seen).toHaveLength(1);
    expect(statuses(channel)).toEqual([486, 486]);
    deliver(aRequest({ branch: 'old-style-1', seq: 2 })); // different CSeq: a new transaction
    expect(seen).toHaveLength(2);
    // ACK with the To tag of our response matches the first INVITE; with a wrong tag it is stray.
    deliver(aRequest({ method: 'ACK', cseqMethod: 'ACK', branch: 'old-style-1', toTag: 'wrong' }));
    expect(seen[0]?.tx.state).toBe('completed');
    deliver(aRequest({ method: 'ACK', cseqMethod: 'ACK', branch: 'old-style-1', toTag: 'to-1' }));
    expect(seen[0]?.tx.state).toBe('confirmed');
  });

  it('RFC 2543 CANCEL matches the INVITE without a branch cookie', () => {
    const { seen, deliver } = setup((req, tx) => {
      if (req.method === 'CANCEL') tx.respond(aResponseTo(req, 200));
    });
    deliver(aRequest({ branch: 'legacy' }));
    deliver(aRequest({ method: 'CANCEL', cseqMethod: 'CANCEL', branch: 'legacy' }));
    expect(seen[1]?.cancels).toBe(seen[0]?.tx);
  });

  it('answers 503 with Retry-After instead of queueing past maxPendingTransactions', () => {
    const { seen, deliver, channel, layer } = setup(() => {}, 10);
    for (let i = 0; i < 11; i++)
      deliver(aRequest({ method: 'OPTIONS', branch: `z9hG4bK-p${i}`, callId: `c${i}` }));
    expect(seen).toHaveLength(10);
    const last = channel.responses.at(-1)?.response;
    expect(last?.status).toBe(503);
    expect(last?.headers.find((h) => h.key === 'retry-after')?.value).toBe('7');
    expect(layer.counters.overloadRejected).toBe(1);
  });

  it('does not count answered (Completed, waiting out Timer J) transactions toward the overload guard', () => {
    const N = 10;
    const { seen, deliver, channel, layer, clock } = setup((req, tx) => tx.respond(aResponseTo(req, 200)), N);
    for (let i = 0; i < 5 * N; i++)
      deliver(aRequest({ method: 'REGISTER', branch: `z9hG4bK-c${i}`, callId: `c${i}` }));
    expect(seen).toHaveLength(5 * N);
    expect(statuses(channel).filter((s) => s === 503)).toEqual([]);
    expect(layer.counters.overloadRejected).toBe(0);
    expect(layer.serverTransactionCount).toBe(5 * N); // all Completed, absorbing retransmissions
    expect(layer.pendingServerTransactionCount).toBe(0);
    clock.advance(64 * T.t1Ms); // Timer J
    expect(layer.serverTransactionCount).toBe(0);
  });

  it('answers 503 once N transactions are in progress (awaiting the TU), and recovers when they are answered', () => {
    const N = 10;
    const { seen, deliver, channel, layer } = setup(() => {}, N);
    for (let i = 0; i < N; i++)
      deliver(aRequest({ method: 'REGISTER', branch: `z9hG4bK-w${i}`, callId: `w${i}` }));
    expect(layer.pendingServerTransactionCount).toBe(N);
    deliver(aRequest({ method: 'REGISTER', branch: 'z9hG4bK-over', callId: 'over' }));
    expect(seen).toHaveLength(N);
    expect(statuses(channel)).toEqual([503]);
    expect(layer.counters.overloadRejected).toBe(1);
    // The TU answers one: one slot frees, though its transaction stays (Completed) in the table.
    const first = seen[0]!;
    first.tx.respond(aResponseTo(first.tx.request, 200));
    expect(layer.pendingServerTransactionCount).toBe(N - 1);
    deliver(aRequest({ method: 'REGISTER', branch: 'z9hG4bK-next', callId: 'next' }));
    expect(seen).toHaveLength(N + 1);
  });

  it('still bounds the whole table (maxTransactions) even when everything is answered', () => {
    const clock = new ManualClock();
    const layer = new TransactionLayer(
      { timers: T, maxPendingTransactions: 10, maxTransactions: 20, retryAfterSec: 7 },
      {
        clock,
        logger: silent,
        user: { onRequest: (req, tx) => tx.respond(aResponseTo(req, 200)) },
      },
    );
    const channel = new RecordingChannel(clock);
    for (let i = 0; i < 21; i++) {
      const request = aRequest({ method: 'REGISTER', branch: `z9hG4bK-h${i}`, callId: `h${i}` });
      layer.receiveRequest({ request, channel, context });
    }
    expect(statuses(channel).filter((s) => s === 503)).toHaveLength(1);
    expect(layer.serverTransactionCount).toBe(20);
  });

  // RFC 3261 §8.2.6.2: every response but 100 carries a To tag, the layer's own ones included.
  it('tags the To of its own 503 (overload) and 500 (TU threw) with a fresh tag', () => {
    let n = 0;
    const ids = { tag: () => `own${++n}` };
    const overloaded = setup(() => {}, 1, ids);
    overloaded.deliver(aRequest({ method: 'OPTIONS', branch: 'z9hG4bK-t1', callId: 't1' }));
    overloaded.deliver(aRequest({ method: 'OPTIONS', branch: 'z9hG4bK-t2', callId: 't2' }));
    const r503 = overloaded.channel.responses.at(-1)?.response;
    expect(r503?.status).toBe(503);
    expect(r503?.to.tag).toBe('own1');
    const throwing = setup(
      () => {
        throw new Error('bug');
      },
      100,
      ids,
    );
    throwing.deliver(aRequest({ method: 'OPTIONS', branch: 'z9hG4bK-t3', callId: 't3' }));
    const r500 = throwing.channel.responses.at(-1)?.response;
    expect(r500?.status).toBe(500);
    expect(r500?.to.tag).toBe('own2');
  });

  it('answers 500 when the TU throws, and keeps going', () => {
    const { deliver, channel, layer } = setup(() => {
      throw new Error('bug');
    });
    deliver(aRequest({ method: 'OPTIONS' }));
    expect(statuses(channel)).toEqual([500]);
    expect(layer.counters.tuErrors).toBe(1);
  });

  it('keeps a completed non-INVITE transaction as a compact record that resends the same response until Timer J', () => {
    const { seen, deliver, layer, clock } = setup((req, tx) => tx.respond(aResponseTo(req, 200)));
    const channel = new ResendingChannel(clock);
    const req = aRequest({ method: 'REGISTER', cseqMethod: 'REGISTER' });
    deliver(req, channel);
    expect(statuses(channel)).toEqual([200]); // the first answer goes through the machine
    const tx = seen[0]!.tx;
    deliver(req, channel);
    deliver(req, channel);
    expect(seen).toHaveLength(1);
    expect(channel.resent.map((r) => r.status)).toEqual([200, 200]);
    expect(channel.resent[0]).toBe(channel.responses[0]?.response); // the very same response
    expect(layer.counters.requestRetransmissionsAbsorbed).toBe(2);
    expect(layer.serverTransactionCount).toBe(1);
    expect(layer.pendingServerTransactionCount).toBe(0);
    // The machine itself was let go: it stays Completed, no Timer J of its own is running.
    expect(tx.state).toBe('completed');
    clock.advance(32_000 - 1);
    expect(layer.serverTransactionCount).toBe(1);
    clock.advance(1); // Timer J = 64·T1
    expect(layer.serverTransactionCount).toBe(0);
    expect(clock.pending).toBe(0);
    deliver(req, channel); // after Timer J the same request is a new one
    expect(seen).toHaveLength(2);
  });

  it('a compact record whose resend fails is forgotten (§17.2.4)', () => {
    const { deliver, layer, clock } = setup((req, tx) => tx.respond(aResponseTo(req, 200)));
    const channel = new ResendingChannel(clock);
    const req = aRequest({ method: 'OPTIONS' });
    deliver(req, channel);
    channel.failResends = true;
    deliver(req, channel);
    expect(layer.serverTransactionCount).toBe(0);
  });

  it('compact records of RFC 2543 requests still compare the To tag (§17.2.3)', () => {
    const { seen, deliver, clock } = setup((req, tx) => tx.respond(aResponseTo(req, 200)));
    const channel = new ResendingChannel(clock);
    deliver(aRequest({ method: 'OPTIONS', branch: 'old-style-2' }), channel);
    deliver(aRequest({ method: 'OPTIONS', branch: 'old-style-2' }), channel);
    expect(channel.resent).toHaveLength(1);
    deliver(aRequest({ method: 'OPTIONS', branch: 'old-style-2', toTag: 'other' }), channel);
    expect(seen).toHaveLength(2);
  });

  it('keeps the full machine on reliable channels and for stateless answers', () => {
    const { deliver, layer, clock } = setup((req, tx) =>
      tx.respond(aResponseTo(req, 401), { stateless: true }),
    );
    const channel = new ResendingChannel(clock);
    deliver(aRequest({ method: 'REGISTER', cseqMethod: 'REGISTER' }), channel);
    expect(layer.serverTransactionCount).toBe(0); // stateless: nothing kept at all
    const ok = setup((req, tx) => tx.respond(aResponseTo(req, 200)));
    const tcp = new ResendingChannel(ok.clock, true);
    const req = aRequest({ method: 'OPTIONS' });
    ok.deliver(req, tcp);
    ok.deliver(req, tcp);
    expect(tcp.resent).toHaveLength(0);
    expect(statuses(tcp)).toEqual([200, 200]);
  });

  it('clears the "never answered" safety net as soon as the TU answers later', () => {
    let later: (() => void) | undefined;
    const { deliver, layer, clock } = setup((req, tx) => {
      later = () => tx.respond(aResponseTo(req, 200));
    });
    const channel = new ResendingChannel(clock);
    deliver(aRequest({ method: 'OPTIONS' }), channel);
    expect(clock.pending).toBe(1); // the guard
    later!();
    expect(clock.pending).toBe(1); // Timer J only: the guard is gone
    clock.advance(32_000);
    expect(layer.serverTransactionCount).toBe(0);
    expect(layer.counters.unansweredDropped).toBe(0);
  });

  it('drops a non-INVITE transaction the TU never answers after 64·T1', () => {
    const { deliver, clock, layer } = setup();
    deliver(aRequest({ method: 'OPTIONS' }));
    expect(layer.serverTransactionCount).toBe(1);
    clock.advance(32_000);
    expect(layer.serverTransactionCount).toBe(0);
    expect(layer.counters.unansweredDropped).toBe(1);
  });

  it('ends answered INVITE transactions (Timers L, M) and completed client ones (K) on the shared schedules', () => {
    const { layer, clock, deliver } = setup((req, tx) => tx.respond(aResponseTo(req, 200)));
    // Server INVITE: 2xx → Accepted until Timer L (64·T1 = 32 s).
    deliver(aRequest({ branch: 'z9hG4bK-ist-1' }));
    clock.advance(1000);
    deliver(aRequest({ branch: 'z9hG4bK-ist-2' }));
    // Client INVITE: 2xx → Accepted until Timer M (64·T1); client BYE: 200 → Completed until K (T4).
    const out = new RecordingChannel(clock);
    const invite = aRequest({ branch: 'z9hG4bK-ict' });
    const ok: number[] = [];
    layer.sendRequest(invite, out, { onResponse: (r) => ok.push(r.status) });
    const bye = aRequest({ method: 'BYE', branch: 'z9hG4bK-nict' });
    layer.sendRequest(bye, out, { onResponse: (r) => ok.push(r.status) });
    layer.receiveResponse({ response: aResponseTo(invite, 200), context });
    layer.receiveResponse({ response: aResponseTo(bye, 200), context });
    expect(ok).toEqual([200, 200]);
    expect(layer.serverTransactionCount).toBe(2);
    expect(layer.clientTransactionCount).toBe(2);

    clock.advance(5000); // T4: the BYE's Timer K
    expect(layer.clientTransactionCount).toBe(1);
    // A 2xx retransmission in Accepted still reaches the TU (RFC 6026 §7.2).
    layer.receiveResponse({ response: aResponseTo(invite, 200), context });
    expect(ok).toEqual([200, 200, 200]);

    clock.advance(32_000 - 5000 - 1000 - 1); // 1 ms before the first IST's Timer L
    expect(layer.serverTransactionCount).toBe(2);
    clock.advance(1);
    expect(layer.serverTransactionCount).toBe(1);
    clock.advance(1000); // the second IST's Timer L, and the ICT's Timer M
    expect(layer.serverTransactionCount).toBe(0);
    expect(layer.clientTransactionCount).toBe(0);
    // Ended: a late 2xx is a stray now.
    layer.receiveResponse({ response: aResponseTo(invite, 200), context });
    expect(ok).toHaveLength(3);
    expect(layer.counters.strayResponses).toBe(1);
  });

  it('routes responses to client transactions by branch + CSeq method; strays are counted', () => {
    const { layer, clock } = setup();
    const channel = new RecordingChannel(clock);
    const got: number[] = [];
    const req = aRequest({ method: 'OPTIONS', branch: 'z9hG4bK-client' });
    layer.sendRequest(req, channel, { onResponse: (r) => got.push(r.status) });
    layer.receiveResponse({ response: aResponseTo(req, 200), context });
    layer.receiveResponse({ response: aResponseTo(aRequest({ branch: 'z9hG4bK-nobody' }), 200), context });
    expect(got).toEqual([200]);
    expect(layer.counters.strayResponses).toBe(1);
  });
});
