import { AgentConfigSchema } from '@sipwall/shared';
import { describe, expect, it } from 'vitest';
import { needsKeepAlive, nextPingStep } from '../../src/registrar/keepalive-plan.js';
import { learnFromRegisterOk } from '../../src/registrar/passive-learn.js';
import { compileRegistrarSettings, parseUpstream } from '../../src/registrar/registrar-settings.js';
import { registrationRows } from '../../src/registrar/registration-view.js';
import { parseUri } from '../../src/sip/uri.js';
import { aResponse } from '../sip/builders.js';
import { aBinding, register, T0, udpFlow } from './register-fixtures.js';

const okWith = (req: ReturnType<typeof register>, contacts: string[], extra: [string, string][] = []) =>
  aResponse(200, req, { headers: [...contacts.map((c) => ['Contact', c] as [string, string]), ...extra] });

describe('learnFromRegisterOk (passive mode)', () => {
  it("learns the phone's contact with the registrar's expiry, on the phone's flow", () => {
    const req = register({
      contact: '<sip:alice@192.0.2.10:5060>',
      headers: [['User-Agent', 'Cisco-CP8845/14.2']],
    });
    const got = learnFromRegisterOk(
      req,
      okWith(req, ['<sip:alice@192.0.2.10:5060>;expires=120']),
      [],
      udpFlow,
      T0,
      3600,
    );
    expect(got?.upserts).toHaveLength(1);
    expect(got!.upserts[0]!.action).toBe('added');
    expect(got!.upserts[0]!.binding.expiresAt).toBe(T0 + 120_000);
    expect(got!.upserts[0]!.binding.flow).toEqual(udpFlow);
    expect(got!.upserts[0]!.binding.userAgent).toBe('Cisco-CP8845/14.2');
    expect(got?.removals).toEqual([]);
  });

  it('falls back to the Expires header, ignores contacts it never saw, removes what the 200 no longer lists', () => {
    const req = register({ contact: '<sip:alice@192.0.2.10:5060>' });
    const gone = aBinding({ key: 'sip:alice@192.0.2.99:5060', contact: 'sip:alice@192.0.2.99:5060' });
    const got = learnFromRegisterOk(
      req,
      okWith(
        req,
        ['<sip:alice@192.0.2.10:5060>', '<sip:alice@198.51.100.7>;expires=300'],
        [['Expires', '90']],
      ),
      [gone],
      udpFlow,
      T0,
      3600,
    );
    expect(got?.upserts.map((u) => [u.binding.contact, u.binding.expiresAt])).toEqual([
      ['sip:alice@192.0.2.10:5060', T0 + 90_000],
    ]);
    expect(got?.removals).toEqual([gone]);
  });

  it('learns nothing from a non-2xx', () => {
    const req = register();
    expect(learnFromRegisterOk(req, aResponse(403, req), [], udpFlow, T0, 3600)).toBeUndefined();
    expect(learnFromRegisterOk(req, aResponse(401, req), [], udpFlow, T0, 3600)).toBeUndefined();
  });

  it('an unregister 200 without our contact removes our binding', () => {
    const req = register({ contact: '<sip:alice@192.0.2.10:5060>;expires=0' });
    const held = aBinding();
    const got = learnFromRegisterOk(req, okWith(req, []), [held], udpFlow, T0, 3600);
    expect(got?.upserts).toEqual([]);
    expect(got?.removals).toEqual([held]);
  });
});

describe('keep-alive plan', () => {
  it('pings only bindings whose flow differs from their Contact', () => {
    const same = aBinding({ contact: 'sip:alice@192.0.2.10:5060' });
    expect(needsKeepAlive(same, parseUri(same.contact))).toBe(false);
    const defaultPort = aBinding({ contact: 'sip:alice@192.0.2.10' });
    expect(needsKeepAlive(defaultPort, parseUri(defaultPort.contact))).toBe(false);
    const natted = aBinding({ contact: 'sip:alice@10.0.0.5:5060' });
    expect(needsKeepAlive(natted, parseUri(natted.contact))).toBe(true);
    const otherPort = aBinding({ contact: 'sip:alice@192.0.2.10:5070' });
    expect(needsKeepAlive(otherPort, parseUri(otherPort.contact))).toBe(true);
  });

  it('counts an unanswered ping at the next tick and drops after maxFailures in a row', () => {
    expect(nextPingStep({ failures: 0, outstanding: undefined }, 3)).toEqual({ step: 'ping', failures: 0 });
    expect(nextPingStep({ failures: 1, outstanding: 7 }, 3)).toEqual({ step: 'ping', failures: 2 });
    expect(nextPingStep({ failures: 2, outstanding: 8 }, 3)).toEqual({ step: 'drop', failures: 3 });
  });
});

describe('registrar settings and view', () => {
  it('parses upstream host[:port]', () => {
    expect(parseUpstream('203.0.113.5')).toEqual({ host: '203.0.113.5', port: 5060 });
    expect(parseUpstream('sip.example.net:5080')).toEqual({ host: 'sip.example.net', port: 5080 });
    expect(parseUpstream('[2001:db8::1]:5070')).toEqual({ host: '2001:db8::1', port: 5070 });
    expect(parseUpstream('a b')).toBeUndefined();
    expect(parseUpstream('host:70000')).toBeUndefined();
  });

  it('refuses passive mode without a usable upstream', () => {
    const config = AgentConfigSchema.parse({
      sip: {
        domains: ['example.com'],
        interfaces: [{ name: 'lan', role: 'inside', address: '127.0.0.1' }],
        registrar: { mode: 'passive' },
      },
    });
    const r = compileRegistrarSettings(config);
    expect(r.ok).toBe(false);
  });

  it('renders rows with remaining seconds and skips expired bindings', () => {
    const rows = registrationRows(
      [aBinding({ userAgent: 'Snom D785 10.1' }), aBinding({ key: 'x', expiresAt: T0 - 1 })],
      'main',
      T0,
      100,
    );
    expect(rows).toEqual([
      {
        aor: 'sip:alice@example.com',
        contact: 'sip:alice@192.0.2.10:5060',
        expiresSec: 600,
        flow: { transport: 'udp', source: '192.0.2.10:5060' },
        instanceId: null,
        regId: null,
        mode: 'main',
        registeredAt: T0 - 1000,
        userAgent: 'Snom D785 10.1',
      },
    ]);
  });
});
