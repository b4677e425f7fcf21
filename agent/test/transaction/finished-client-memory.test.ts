import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ClientInviteTransaction } from '../../src/transaction/client-invite.js';
import { ClientNonInviteTransaction } from '../../src/transaction/client-non-invite.js';
import type { ClientTransactionUser } from '../../src/transaction/types.js';
import { ManualClock } from '../../src/util/clock.js';
import { context, flush, RecordingChannel } from './harness.js';
import { aRequest, aResponseTo } from './messages.js';

// A finished client transaction lingers for Timer K (non-INVITE, 5 s on UDP) or Timer M (INVITE
// Accepted, 64·T1 = 32 s) and sends nothing more. At thousands of calls/s what it still points at
// is what the heap holds, so these check what it lets go: by WeakRef after a full collection.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Whether the objects behind `refs` survive a full collection while `keep` is alive. A WeakRef's
 * target lives at least until the job that made it ends, so this waits for the next turn first.
 */
async function survivors(
  keep: unknown,
  refs: Record<string, WeakRef<object>>,
): Promise<Record<string, boolean>> {
  await flush();
  gc();
  const out: Record<string, boolean> = {};
  for (const [name, ref] of Object.entries(refs)) out[name] = ref.deref() !== undefined;
  expect(keep).toBeDefined();
  return out;
}

describe('finished client transactions keep only what they still use', () => {
  it('non-INVITE, Completed: lets the request, its channel and its TU go, still absorbs retransmissions', async () => {
    const clock = new ManualClock();
    let request: ReturnType<typeof aRequest> | undefined = aRequest({ method: 'BYE' });
    let channel: RecordingChannel | undefined = new RecordingChannel(clock, false);
    let calls = 0;
    let user: ClientTransactionUser | undefined = { onResponse: () => void calls++ };
    const refs = { request: new WeakRef(request), channel: new WeakRef(channel), user: new WeakRef(user) };
    const tx = new ClientNonInviteTransaction(request, channel, context(clock, false), user);
    tx.start();
    const ok = aResponseTo(request, 200);
    tx.receiveResponse(ok);
    request = channel = user = undefined;
    expect(tx.state).toBe('completed');
    expect(await survivors(tx, refs)).toEqual({ request: false, channel: false, user: false });
    tx.receiveResponse(ok); // a retransmitted 200: absorbed, not passed up
    expect(calls).toBe(1);
    expect(tx.state).toBe('completed');
  });

  it('INVITE, Accepted: lets the INVITE and its channel go, keeps the TU for 2xx retransmissions', async () => {
    const clock = new ManualClock();
    let invite: ReturnType<typeof aRequest> | undefined = aRequest({ method: 'INVITE' });
    let channel: RecordingChannel | undefined = new RecordingChannel(clock, false);
    const seen: number[] = [];
    let user: ClientTransactionUser | undefined = { onResponse: (r) => void seen.push(r.status) };
    const refs = { invite: new WeakRef(invite), channel: new WeakRef(channel), user: new WeakRef(user) };
    const tx = new ClientInviteTransaction(invite, channel, context(clock, false), user);
    tx.start();
    const ok = aResponseTo(invite, 200);
    tx.receiveResponse(ok);
    invite = channel = user = undefined;
    expect(tx.state).toBe('accepted');
    expect(await survivors(tx, refs)).toEqual({ invite: false, channel: false, user: true });
    tx.receiveResponse(ok); // RFC 6026 §7.2: a 2xx retransmission goes to the TU
    expect(seen).toEqual([200, 200]);
  });
});
