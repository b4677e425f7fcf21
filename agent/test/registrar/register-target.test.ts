import { describe, expect, it } from 'vitest';
import { Myself, myselfFromConfig } from '../../src/core/myself.js';
import { type RegisterTargetConfig, registerTarget } from '../../src/registrar/register-target.js';
import { aRegister } from '../sip/builders.js';

const myself = myselfFromConfig(
  {
    domains: ['example.com', 'other.test'],
    interfaces: [
      { address: '192.0.2.1', port: 5060 },
      { address: '0.0.0.0', port: 5070, publicAddress: '203.0.113.9' },
    ],
  },
  { hostAddresses: ['10.0.0.1', '::1'] },
);
const cfg: RegisterTargetConfig = { domains: new Set(['example.com', 'other.test']), myself };

const reg = (requestUri: string, to: string) => aRegister({ requestUri, to: `<${to}>` });

describe('registerTarget (RFC 3261 §10.3 steps 1 and 5, with myself)', () => {
  it('takes a REGISTER for one of our domains with an AOR of that domain', () => {
    expect(registerTarget(reg('sip:example.com', 'sip:alice@example.com'), cfg)).toEqual({
      domain: 'example.com',
      aor: 'sip:alice@example.com',
    });
    expect(registerTarget(reg('sip:OTHER.test:5099', 'sip:bob@other.test'), cfg)).toEqual({
      domain: 'other.test',
      aor: 'sip:bob@other.test',
    });
  });

  it("takes a Request-URI naming the agent's address, with or without our port; the AOR comes from To", () => {
    for (const ru of ['sip:192.0.2.1', 'sip:192.0.2.1:5060', 'sip:10.0.0.1:5070', 'sip:203.0.113.9:5070']) {
      expect(registerTarget(reg(ru, 'sip:alice@example.com'), cfg), ru).toEqual({
        domain: 'example.com',
        aor: 'sip:alice@example.com',
      });
    }
    expect(registerTarget(reg('sip:[::1]:5070', 'sip:bob@other.test'), cfg)).toEqual({
      domain: 'other.test',
      aor: 'sip:bob@other.test',
    });
  });

  it("maps an AOR at the agent's address to the default domain", () => {
    expect(registerTarget(reg('sip:192.0.2.1:5060', 'sip:alice@192.0.2.1:5060'), cfg)).toEqual({
      domain: 'example.com',
      aor: 'sip:alice@example.com',
    });
    expect(registerTarget(reg('sip:example.com', 'sip:alice@192.0.2.1'), cfg)).toEqual({
      domain: 'example.com',
      aor: 'sip:alice@example.com',
    });
  });

  it('refuses a Request-URI that is not us: a foreign domain, a foreign address, our address on a port we do not listen on', () => {
    for (const ru of ['sip:elsewhere.test', 'sip:198.51.100.7', 'sip:192.0.2.1:5080', 'tel:+15551234']) {
      expect(registerTarget(reg(ru, 'sip:alice@example.com'), cfg), ru).toBe('not-our-domain');
    }
  });

  it('refuses an AOR of a foreign domain, or of another of our domains than the Request-URI names', () => {
    expect(registerTarget(reg('sip:192.0.2.1', 'sip:alice@elsewhere.test'), cfg)).toBe('not-our-domain');
    expect(registerTarget(reg('sip:example.com', 'sip:bob@other.test'), cfg)).toBe('not-our-domain');
  });

  it('has no AOR when To has no user part', () => {
    expect(registerTarget(reg('sip:192.0.2.1', 'sip:example.com'), cfg)).toEqual({
      domain: 'example.com',
      aor: undefined,
    });
  });

  it('without myself, knows only the domains (as before)', () => {
    const domainsOnly: RegisterTargetConfig = { domains: new Set(['example.com']) };
    expect(registerTarget(reg('sip:example.com', 'sip:alice@example.com'), domainsOnly)).toMatchObject({
      aor: 'sip:alice@example.com',
    });
    expect(registerTarget(reg('sip:192.0.2.1', 'sip:alice@example.com'), domainsOnly)).toBe('not-our-domain');
  });
});

describe('myselfFromConfig', () => {
  it('uses the bound ports once listeners are known (config port 0)', () => {
    const sip = { domains: ['example.com'], interfaces: [{ address: '127.0.0.1', port: 0 }] };
    expect(myselfFromConfig(sip).isHost('127.0.0.1', 40000)).toBe(false);
    const bound = myselfFromConfig(sip, { listening: [{ address: '127.0.0.1', port: 40000 }] });
    expect(bound.isHost('127.0.0.1', 40000)).toBe(true);
    expect(bound.isHost('127.0.0.1')).toBe(true);
    expect(bound.isHost('127.0.0.1', 40001)).toBe(false);
  });

  it('counts the host addresses for a wildcard listener and the public address', () => {
    const m = myselfFromConfig(
      {
        domains: ['example.com'],
        interfaces: [{ address: '0.0.0.0', port: 5060, publicAddress: '203.0.113.9' }],
      },
      { hostAddresses: ['192.168.1.1'] },
    );
    expect(m).toBeInstanceOf(Myself);
    expect(m.aorDomain('192.168.1.1')).toBe('example.com');
    expect(m.aorDomain('203.0.113.9')).toBe('example.com');
    expect(m.aorDomain('0.0.0.0')).toBeUndefined();
    expect(m.defaultDomain).toBe('example.com');
  });
});
