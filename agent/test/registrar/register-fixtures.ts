import type { SipRequest } from '../../src/sip/index.js';
import type { Binding, Flow } from '../../src/registrar/binding.js';
import type { RegisterCaller, RegistrarConfig } from '../../src/registrar/process-register.js';
import { compileCidrs, EMPTY_CIDR_SET } from '../../src/registrar/source-acl.js';
import { aRegister, type RequestSpec } from '../sip/builders.js';

export const T0 = 1_700_000_000_000;

export const cfg: RegistrarConfig = {
  minExpiresSec: 60,
  maxExpiresSec: 3600,
  defaultExpiresSec: 1800,
  domains: new Set(['example.com']),
  sourcePolicy: { allow: EMPTY_CIDR_SET, deny: EMPTY_CIDR_SET },
};

export const alice: RegisterCaller = {
  authenticatedAor: 'sip:alice@example.com',
  maxBindings: 3,
  allowFrom: EMPTY_CIDR_SET,
};

export const udpFlow: Flow = { transport: 'udp', address: '192.0.2.10', port: 5060 };

/** A REGISTER for alice; `contact: null` sends none (a query). */
export function register(spec: Omit<RequestSpec, 'contact'> & { contact?: string | null } = {}): SipRequest {
  const { contact, ...rest } = spec;
  // The builder leaves Contact out when the spec's contact is undefined.
  if (contact === null) return aRegister({ ...rest, contact: undefined as unknown as string });
  return aRegister(contact === undefined ? rest : { ...rest, contact });
}

export function cidrs(list: string[]) {
  const r = compileCidrs(list);
  if (!r.ok) throw new Error(`bad cidr ${r.error.cidr}`);
  return r.value;
}

export function aBinding(over: Partial<Binding> = {}): Binding {
  return {
    aor: 'sip:alice@example.com',
    key: 'sip:alice@192.0.2.10:5060',
    contact: 'sip:alice@192.0.2.10:5060',
    q: undefined,
    expiresAt: T0 + 600_000,
    callId: 'call-1@192.0.2.10',
    cseq: 1,
    instanceId: undefined,
    regId: undefined,
    flow: udpFlow,
    registeredAt: T0 - 1000,
    ...over,
  };
}
