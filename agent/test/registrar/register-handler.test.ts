import { SipUserSchema } from '@sipwall/shared';
import { describe, expect, it } from 'vitest';
import type { AuthenticateContext } from '../../src/auth/authenticate.js';
import { BruteForceGuard } from '../../src/auth/brute-force.js';
import { createNonceVerifier, type NonceOptions } from '../../src/auth/nonce.js';
import { NonceCountTracker } from '../../src/auth/nonce-count.js';
import type { SecurityEvent } from '../../src/auth/security-event.js';
import type { RegistrationEvent } from '../../src/registrar/events.js';
import { myselfFromConfig } from '../../src/core/myself.js';
import { MemoryLocationStore } from '../../src/registrar/location-store.js';
import { handleRegister, type RegisterHandlerDeps } from '../../src/registrar/register-handler.js';
import { indexUsers } from '../../src/registrar/registrar-users.js';
import { getHeaders, type SipRequest, type SipResponse } from '../../src/sip/index.js';
import type { ServerTransaction } from '../../src/transaction/types.js';
import type { InboundContext } from '../../src/transport/channels.js';
import type { Transport } from '../../src/transport/types.js';
import { ManualClock } from '../../src/util/clock.js';
import { authorizationHeader, ha1Of } from '../auth/digest-client.js';
import { cfg, register, T0 } from './register-fixtures.js';

const realm = 'example.com';

function setup() {
  const clock = new ManualClock(T0);
  const users = indexUsers([
    SipUserSchema.parse({
      username: 'alice',
      domain: realm,
      ha1: { sha256: ha1Of('sha256', 'alice', realm, 'pw') },
    }),
  ]);
  if (!users.ok) throw new Error('users');
  const nonceOptions: NonceOptions = { secret: Buffer.alloc(32, 9), maxAgeMs: 300_000 };
  let n = 0;
  const auth: AuthenticateContext = {
    realms: new Set([realm]),
    findUser: (u, r) => users.value.find(u, r),
    nonces: createNonceVerifier(nonceOptions),
    nonceCounts: new NonceCountTracker({ maxEntries: 1000, maxAgeMs: 600_000 }),
    nonceOptions,
    random: (size) => Buffer.alloc(size, ++n),
    algorithms: ['SHA-256'],
  };
  const registrations: RegistrationEvent[] = [];
  const security: SecurityEvent[] = [];
  const deps: RegisterHandlerDeps = {
    config: cfg,
    store: MemoryLocationStore.inMemory(),
    users: users.value,
    auth,
    algorithms: { site: ['MD5', 'SHA-256'], byDomain: new Map() },
    bruteForce: new BruteForceGuard({ maxFailures: 2, windowSec: 60, blockSec: 600 }),
    dropUserAgents: ['friendly-scanner'],
    clock,
    toTag: () => 'totag',
    onRegistrationEvents: (e) => registrations.push(...e),
    onSecurityEvents: (e) => security.push(...e),
    logger: { warn: () => {}, debug: () => {} },
  };
  return { deps, clock, registrations, security };
}

/** A server transaction that records the response (the transaction layer is not under test). */
function transactionFor(request: SipRequest) {
  const sent: SipResponse[] = [];
  const tx: ServerTransaction = {
    kind: 'server-non-invite',
    request,
    state: 'trying',
    get lastStatus() {
      return sent.at(-1)?.status ?? 0;
    },
    get lastToTag() {
      return sent.at(-1)?.to.tag;
    },
    respond: (r) => sent.push(r),
  };
  return { tx, sent };
}

const transport = { protocol: 'udp' } as Transport;
const ctx = (address = '192.0.2.10', port = 5060): InboundContext => ({
  source: { address, port },
  transport,
});

async function send(deps: RegisterHandlerDeps, request: SipRequest, context = ctx()) {
  const { tx, sent } = transactionFor(request);
  await handleRegister(request, tx, context, deps);
  return sent[0];
}

function answer(challenge: SipResponse, password: string, cseq: number) {
  const nonce = /nonce="([^"]+)"/.exec(getHeaders(challenge, 'www-authenticate')[0]!)![1]!;
  return authorizationHeader({
    hash: 'sha256',
    username: 'alice',
    realm,
    password,
    method: 'REGISTER',
    uri: 'sip:example.com',
    nonce,
    nc: '00000001',
    cnonce: `c${cseq}`,
  });
}

describe('register handler (shell)', () => {
  it('challenges, then registers the binding with its flow and answers 200 with the bindings', async () => {
    const { deps, registrations, security } = setup();
    const first = await send(deps, register({ cseq: 1 }), ctx('198.51.100.4', 40000));
    expect(first?.status).toBe(401);
    const auth = answer(first!, 'pw', 2);
    const ok = await send(
      deps,
      register({ cseq: 2, headers: [['Authorization', auth]] }),
      ctx('198.51.100.4', 40000),
    );
    expect(ok?.status).toBe(200);
    expect(getHeaders(ok!, 'contact')).toEqual(['<sip:alice@192.0.2.10:5060>;expires=3600']);
    const stored = deps.store.lookup('sip:alice@example.com');
    expect(stored).toHaveLength(1);
    expect(stored[0]!.flow).toEqual({
      transport: 'udp',
      address: '198.51.100.4',
      port: 40000,
      connectionId: undefined,
    });
    expect(registrations.map((e) => e.action)).toEqual(['added']);
    expect(security).toEqual([]);
  });

  it('answers a wrong password with 403 and blocks the source past maxFailures', async () => {
    const { deps, security } = setup();
    for (let cseq = 1; cseq <= 3; cseq++) {
      const challenge = await send(deps, register({ cseq: cseq * 2 }), ctx('203.0.113.66'));
      const res = await send(
        deps,
        register({ cseq: cseq * 2 + 1, headers: [['Authorization', answer(challenge!, 'guess', cseq)]] }),
        ctx('203.0.113.66'),
      );
      expect(res?.status).toBe(403);
    }
    expect(security.map((e) => e.event)).toContain('source-blocked');
    // Blocked: no challenge any more (answered 403 until the transaction layer can drop).
    expect((await send(deps, register({ cseq: 20 }), ctx('203.0.113.66')))?.status).toBe(403);
    // alice's own phone elsewhere still gets challenged normally.
    expect((await send(deps, register({ cseq: 21 }), ctx('10.0.0.5')))?.status).toBe(401);
  });

  it('never counts a wrong password over a nonce sent to another address (forged UDP source): fresh stale challenge, no block', async () => {
    const { deps, security } = setup();
    // The attacker gets a nonce at its own address, then forges the office's address.
    const challenge = await send(deps, register({ cseq: 1 }), ctx('198.51.100.66'));
    for (let cseq = 2; cseq <= 12; cseq++) {
      const res = await send(
        deps,
        register({ cseq, headers: [['Authorization', answer(challenge!, 'guess', cseq)]] }),
        ctx('203.0.113.7'),
      );
      expect(res?.status).toBe(401);
      expect(getHeaders(res!, 'www-authenticate')[0]).toContain('stale=true');
    }
    expect(security).toEqual([]);
    expect(deps.bruteForce.check('203.0.113.7', T0)).toBe('allowed');
  });

  it('does not verify an answer over a nonce sent to another address, even a right one (no oracle from a second address)', async () => {
    const { deps, security } = setup();
    const challenge = await send(deps, register({ cseq: 1 }), ctx('198.51.100.66'));
    const res = await send(
      deps,
      register({ cseq: 2, headers: [['Authorization', answer(challenge!, 'pw', 1)]] }),
      ctx('203.0.113.7'),
    );
    expect(res?.status).toBe(401);
    // A phone whose public address changed answers the fresh challenge and registers.
    const ok = await send(
      deps,
      register({ cseq: 3, headers: [['Authorization', answer(res!, 'pw', 3)]] }),
      ctx('203.0.113.7', 40001),
    );
    expect(ok?.status).toBe(200);
    expect(security).toEqual([]);
  });

  it('refuses a scanner User-Agent without a challenge', async () => {
    const { deps, security } = setup();
    const res = await send(deps, register({ headers: [['User-Agent', 'friendly-scanner']] }));
    expect(res?.status).toBe(403);
    expect(security.map((e) => e.event)).toEqual(['scanner-dropped']);
  });

  it('answers 404 for a domain we do not serve, before any challenge', async () => {
    const { deps } = setup();
    expect((await send(deps, register({ requestUri: 'sip:elsewhere.net' })))?.status).toBe(404);
  });

  it('answers 423 with Min-Expires for a too-brief interval after authentication', async () => {
    const { deps } = setup();
    const challenge = await send(deps, register({ cseq: 1 }));
    const res = await send(
      deps,
      register({
        cseq: 2,
        contact: '<sip:alice@192.0.2.10>;expires=10',
        headers: [['Authorization', answer(challenge!, 'pw', 1)]],
      }),
    );
    expect(res?.status).toBe(423);
    expect(getHeaders(res!, 'min-expires')).toEqual(['60']);
  });
});

describe('register handler: offered algorithms and the agent as "myself"', () => {
  /** alice with both HA1s; the agent listens on 192.0.2.1:5060 and serves example.com. */
  function setupMyself(algorithms?: ReadonlyArray<'MD5' | 'SHA-256'>, siteOrder?: Array<'MD5' | 'SHA-256'>) {
    const base = setup();
    const users = indexUsers([
      SipUserSchema.parse({
        username: 'alice',
        domain: realm,
        ha1: { md5: ha1Of('md5', 'alice', realm, 'pw'), sha256: ha1Of('sha256', 'alice', realm, 'pw') },
        ...(algorithms === undefined ? {} : { algorithms }),
      }),
    ]);
    if (!users.ok) throw new Error('users');
    const myself = myselfFromConfig({ domains: [realm], interfaces: [{ address: '192.0.2.1', port: 5060 }] });
    const deps: RegisterHandlerDeps = {
      ...base.deps,
      config: { ...cfg, myself },
      users: users.value,
      auth: { ...base.deps.auth, findUser: (u, r) => users.value.find(u, r) },
      algorithms: { site: siteOrder ?? ['MD5', 'SHA-256'], byDomain: new Map() },
    };
    return { ...base, deps };
  }
  const offered = (res: SipResponse | undefined) =>
    getHeaders(res!, 'www-authenticate').map((h) => /algorithm=([\w-]+)/.exec(h)?.[1]);

  it('challenges in the configured order: site, else the user override', async () => {
    expect(offered(await send(setupMyself().deps, register()))).toEqual(['MD5', 'SHA-256']);
    expect(offered(await send(setupMyself(undefined, ['SHA-256', 'MD5']).deps, register()))).toEqual([
      'SHA-256',
      'MD5',
    ]);
    expect(offered(await send(setupMyself(['MD5'], ['SHA-256', 'MD5']).deps, register()))).toEqual(['MD5']);
  });

  it('registers REGISTER sip:<agent address> with To alice@<agent address> as alice of the default domain', async () => {
    const { deps } = setupMyself(['MD5']);
    const spec = { requestUri: 'sip:192.0.2.1:5060', to: '<sip:alice@192.0.2.1>' };
    const challenge = await send(deps, register({ ...spec, cseq: 1 }));
    expect(challenge?.status).toBe(401);
    const header = getHeaders(challenge!, 'www-authenticate')[0]!;
    expect(header).toContain(`realm="${realm}"`);
    const nonce = /nonce="([^"]+)"/.exec(header)![1]!;
    const auth = authorizationHeader({
      hash: 'md5',
      username: 'alice',
      realm,
      password: 'pw',
      method: 'REGISTER',
      uri: 'sip:192.0.2.1:5060',
      nonce,
      nc: '00000001',
      cnonce: 'c1',
    });
    const ok = await send(deps, register({ ...spec, cseq: 2, headers: [['Authorization', auth]] }));
    expect(ok?.status).toBe(200);
    expect(deps.store.lookup('sip:alice@example.com')).toHaveLength(1);
    expect(deps.store.lookup('sip:alice@192.0.2.1')).toHaveLength(0);
  });

  it("answers 404 for the agent's address on a port it does not listen on, and for a foreign address", async () => {
    const { deps } = setupMyself();
    expect((await send(deps, register({ requestUri: 'sip:192.0.2.1:5080' })))?.status).toBe(404);
    expect((await send(deps, register({ requestUri: 'sip:198.51.100.1' })))?.status).toBe(404);
  });
});
