/**
 * A two-interface agent for proxy tests: inside 192.168.77.1 (LAN 192.168.77.0/24), outside
 * 203.0.113.1, port 5060 on UDP and TCP, domain example.test.
 */
import { Myself } from '../../src/core/myself.js';
import type { SipListening } from '../../src/core/sip-stack.js';
import type { Binding } from '../../src/registrar/binding.js';
import { InterfaceMap } from '../../src/proxy/interfaces.js';
import type { RouteContext } from '../../src/proxy/route.js';
import { Sealer } from '../../src/proxy/seal.js';

export const INSIDE = '192.168.77.1';
export const OUTSIDE = '203.0.113.1';

export const LISTENING: SipListening[] = ['inside', 'outside'].flatMap((name) =>
  (['udp', 'tcp'] as const).map((transport) => ({
    interface: name,
    role: name as 'inside' | 'outside',
    transport,
    address: name === 'inside' ? INSIDE : OUTSIDE,
    port: 5060,
  })),
);

export function interfaces(): InterfaceMap {
  return new InterfaceMap(
    [
      { name: 'inside', role: 'inside', address: INSIDE, networks: ['192.168.77.0/24'] },
      { name: 'outside', role: 'outside', address: OUTSIDE, networks: [] },
    ],
    LISTENING,
  );
}

export function myself(): Myself {
  return new Myself({ domains: ['example.test'], listeners: LISTENING });
}

export const sealer = new Sealer(Buffer.alloc(64, 7));

export function binding(aor: string, contact: string, address: string, port = 5060, q?: number): Binding {
  return {
    aor,
    key: contact,
    contact,
    q,
    expiresAt: Date.now() + 60_000,
    callId: 'reg-1',
    cseq: 1,
    instanceId: undefined,
    regId: undefined,
    flow: { transport: 'udp', address, port },
    registeredAt: Date.now(),
  };
}

export function routeContext(
  role: 'inside' | 'outside',
  bindings: Record<string, Binding[]> = {},
  extra: Partial<RouteContext> = {},
): RouteContext {
  const map = interfaces();
  return {
    myself: myself(),
    sealer,
    arrival: map.get(role)!,
    locate: (aor) => bindings[aor] ?? [],
    isKnownUser: (aor) => aor === 'sip:alice@example.test' || aor === 'sip:bob@example.test',
    outboundProxy: undefined,
    ...extra,
  };
}
